import { formatMoney, sourceCatalogue } from '@clutch/i18n';
import { problemTranslator } from '../http/problem.js';

/** Longest stored title and body (migration 041); longer text is cut with an ellipsis. */
export const MAX_TITLE = 200;
export const MAX_BODY = 4000;

export type TemplateParams = Record<string, string | number>;

/** True when the catalogue has `<template>.title` and `<template>.body`. */
export function isTemplate(template: string): boolean {
  const catalogue = sourceCatalogue as Readonly<Record<string, string>>;
  return Object.hasOwn(catalogue, `${template}.title`) && Object.hasOwn(catalogue, `${template}.body`);
}

const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * A notification's title and body in the recipient's language (their `users.locale`, negotiated
 * against the catalogues like a request's Accept-Language; English when it has no catalogue). Money
 * is given as `amountMinor` + `currency` and formatted here, in that language, as `{amount}`.
 */
export function renderTemplate(
  template: string,
  params: TemplateParams,
  locale: string,
): { title: string; body: string; locale: string } {
  if (!isTemplate(template)) throw new Error(`no notification template ${template} in the catalogue`);
  const i18n = problemTranslator(locale);
  const values: Record<string, string | number> = { ...params };
  if (typeof params.amountMinor === 'number' && typeof params.currency === 'string' && values.amount === undefined)
    values.amount = formatMoney(i18n.locale, params.amountMinor, params.currency);
  return {
    title: cut(i18n.text(`${template}.title`, values), MAX_TITLE),
    body: cut(i18n.text(`${template}.body`, values), MAX_BODY),
    locale: i18n.locale,
  };
}
