import { formatMoney, type Translator } from '@clutch/i18n';
import type { ApiProblem } from './api.js';
import { liveSocket, onEveryConnect } from './live-socket.js';
import { keepLang } from './locale.js';

/** What the marketplace pages share: money and times as a person reads them, live events, small DOM helpers. */

export const el = <T extends HTMLElement = HTMLElement>(testid: string): T =>
  document.querySelector<T>(`[data-testid="${testid}"]`)!;

export function param(name: string): string {
  return new URLSearchParams(location.search).get(name) ?? '';
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An element with text that is data (a shop's name, an amount): translate="no" for tools and the en-XA scan. */
export function dataText<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.textContent = text;
  e.translate = false;
  if (className) e.className = className;
  return e;
}

export function textEl<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.textContent = text;
  if (className) e.className = className;
  return e;
}

/** Integer minor units + currency, in the page's locale (@clutch/i18n's formatMoney). */
export function money(i18n: Translator, minor: number, currency: string): string {
  // Pseudo-locales are not Intl locales with their own number data: format them as English.
  const locale = /-X[AB]$/.test(i18n.locale) ? 'en' : i18n.locale;
  return formatMoney(locale, minor, currency);
}

/** A time in the given IANA time zone (the shop's for slots and bookings), in the page's locale. */
export function zonedTime(
  i18n: Translator,
  iso: string,
  timeZone: string,
  style: 'time' | 'dateTime' | 'date' = 'dateTime',
): string {
  const options: Intl.DateTimeFormatOptions =
    style === 'time'
      ? { timeStyle: 'short', timeZone }
      : style === 'date'
        ? { weekday: 'short', day: 'numeric', month: 'short', timeZone }
        : { dateStyle: 'medium', timeStyle: 'short', timeZone };
  return i18n.dateTime(iso, options);
}

/** The calendar day (YYYY-MM-DD) of an instant in a time zone. */
export function zonedDay(iso: string | Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    typeof iso === 'string' ? new Date(iso) : iso,
  );
}

export function distance(i18n: Translator, metres: number): string {
  return metres < 1000
    ? i18n.t('marketplace.distance.m', { m: Math.round(metres) })
    : i18n.t('marketplace.distance.km', { km: Math.round(metres / 100) / 10 });
}

/** The display name of a repair-order status (`shop.status.<status>`), or the status itself. */
export function statusName(i18n: Translator, status: string): string {
  const key = `shop.status.${status}`;
  const text = i18n.text(key);
  return text === key ? status : text;
}

/** The display name of a catalogue service code (M1's `marketplace.service.<code>`), else the shop's name for it. */
export function serviceName(i18n: Translator, code: string, fallback: string): string {
  const key = `marketplace.service.${code}`;
  const text = i18n.text(key);
  return text === key ? fallback : text;
}

export function link(href: string, text: string, testid?: string): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = keepLang(href);
  a.textContent = text;
  if (testid) a.dataset.testid = testid;
  return a;
}

export function button(text: string, onClick: () => void, testid?: string, className = 'secondary'): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  if (testid) b.dataset.testid = testid;
  b.addEventListener('click', onClick);
  return b;
}

/** A problem code an action refused with, for the element's `data-code` (tests and styles read it). */
export function problemCode(err: unknown): string {
  return (err as ApiProblem | undefined)?.code ?? '';
}

/** The live events the marketplace and money pages follow (docs/realtime.md, docs/payments.md). */
export type LiveEvent = 'booking_update' | 'service_status_change' | 'payment_notification';

/**
 * The marketplace's live events (`booking_update`, `service_status_change`, and the payments'
 * `payment_notification`, docs/realtime.md): the server
 * joins a signed-in user to their own and their organisation's rooms through the policy at connect, so
 * the page only listens. `onChange` gets each event's payload; the pages re-read what changed from the
 * API (the event says that something changed, the API says what it is now). `state` reports the connection.
 */
export async function connectMarketplaceLive(
  onChange: (event: LiveEvent, payload: Record<string, unknown>) => void,
  state: (s: 'live' | 'offline') => void,
): Promise<void> {
  // The page's one connection, shared with the notification bell and the chat (live-socket.ts).
  const socket = await liveSocket();
  onEveryConnect(socket, () => state('live'));
  socket.on('disconnect', () => state('offline'));
  socket.on('connect_error', () => state('offline'));
  socket.on('booking_update', (msg) => onChange('booking_update', msg));
  socket.on('service_status_change', (msg) => onChange('service_status_change', msg));
  socket.on('payment_notification', (msg) => onChange('payment_notification', msg));
}

/** The UTC offset of a time zone at an instant, in milliseconds (local = UTC + offset). */
function zoneOffsetMs(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const n = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return (
    Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) - Math.floor(at / 1000) * 1000
  );
}

/**
 * The instant a wall-clock time of a day (YYYY-MM-DD) happens in a time zone. Two passes settle the
 * offset on DST days; a time that does not exist (spring forward) lands an hour later, like clocks do.
 */
export function zonedInstant(day: string, hour: number, timeZone: string): Date {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d, hour);
  let at = wall - zoneOffsetMs(wall, timeZone);
  at = wall - zoneOffsetMs(at, timeZone);
  return new Date(at);
}

/** The day after (or `n` days after) a calendar day, as YYYY-MM-DD. */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** The number of decimals of a currency's minor unit (2 for EUR, 0 for JPY), from Intl. */
export function currencyDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/**
 * An amount a person typed ("12.50", "12,5") as integer minor units of the currency, exactly (no float
 * arithmetic); null when it is not an amount with at most the currency's decimals.
 */
export function toMinor(text: string, currency: string): number | null {
  const digits = currencyDigits(currency);
  const m = /^\s*(\d{1,12})(?:[.,](\d*))?\s*$/.exec(text);
  if (!m) return null;
  const fraction = m[2] ?? '';
  if (fraction.length > digits) return null;
  return Number(m[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}

/**
 * A re-read to run when live events say something changed: one at a time, and when events arrive
 * during a re-read, exactly one more after it (that one may have read the state before the change).
 */
export function serialRefresher(work: () => Promise<void>, onError: (err: unknown) => void): () => void {
  let running = false;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    work()
      .catch(onError)
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          run();
        }
      });
  };
  return run;
}
