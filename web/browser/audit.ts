import type { Translator } from '@clutch/i18n';
import { ApiProblem, getJson } from './api.js';
import { startPageLocale } from './locale.js';
import { clearProblem, showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';

/**
 * The audit trail for administrators (`GET /api/security/reports`): filters, one page at a time
 * ("Older events" follows `next`), and a CSV export of every filtered row (the same URL with
 * `format=csv`; the browser sends the session cookie with the link).
 */

/** One event as the route answers it (docs/api.md, "Administration"). */
interface SecurityEvent {
  id: string;
  seq: string;
  at: string;
  tenantId: string | null;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  outcome: 'success' | 'failure' | 'denied';
  detail: Record<string, unknown>;
  hash: string;
}

const REPORTS = '/api/security/reports';
const FILTERS = ['from', 'to', 'actor', 'action', 'outcome', 'tenantId', 'limit'] as const;

const el = <T extends HTMLElement>(selector: string): T => document.querySelector<T>(selector)!;

/** The form's filters as query parameters; `datetime-local` values are the viewer's local time. */
function filterParams(form: HTMLFormElement): URLSearchParams {
  const data = new FormData(form);
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = String(data.get(name) ?? '').trim();
    if (!value) continue;
    if (name === 'from' || name === 'to') {
      const time = new Date(value);
      if (!Number.isNaN(time.getTime())) params.set(name, time.toISOString());
    } else params.set(name, value);
  }
  return params;
}

function cell(column: string, text: string, data = true): HTMLTableCellElement {
  const td = document.createElement('td');
  td.dataset.col = column;
  td.textContent = text;
  // Ids, actions and addresses are data, not words to translate.
  if (data) td.translate = false;
  return td;
}

function eventRow(e: SecurityEvent, i18n: Translator): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'event';
  tr.dataset.id = e.id;
  tr.dataset.action = e.action;
  tr.dataset.actor = e.actor;
  tr.dataset.outcome = e.outcome;
  const at = document.createElement('td');
  at.dataset.col = 'at';
  const time = document.createElement('time');
  time.dateTime = e.at;
  time.textContent = i18n.dateTime(e.at, { dateStyle: 'medium', timeStyle: 'medium' });
  at.append(time);
  tr.append(
    at,
    cell('actor', e.actor),
    cell('action', e.action),
    cell('target', e.target ?? '—'),
    cell('outcome', i18n.t(`audit.outcome.${e.outcome}`), false),
    cell('tenant', e.tenantId ?? '—'),
    cell('ip', e.ip ?? '—'),
  );
  return tr;
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  const form = el<HTMLFormElement>('[data-testid="filters"]');
  const csv = el<HTMLAnchorElement>('[data-testid="csv"]');
  const status = el<HTMLElement>('[data-testid="status"]');
  const error = el<HTMLElement>('[data-testid="error"]');
  const body = el<HTMLTableElement>('[data-testid="events"]').tBodies[0]!;
  const next = el<HTMLButtonElement>('[data-testid="next"]');
  let cursor: string | null = null;
  let shown = 0;
  /** Numbers each load: an answer to an older one (filters changed meanwhile) is dropped. */
  let latest = 0;

  /** The filters of the list shown: "Older events" pages through it even after the form was edited. */
  let applied = new URLSearchParams();

  /** Loads the first page for the form's filters, or (`more`) the page after the last one shown. */
  const load = async (more: boolean): Promise<void> => {
    clearProblem(error);
    if (!more) {
      applied = filterParams(form);
      // The export holds every filtered row: no page size.
      const exported = new URLSearchParams([...applied, ['format', 'csv']]);
      exported.delete('limit');
      csv.href = `${REPORTS}?${exported.toString()}`;
    }
    const params = new URLSearchParams(applied);
    if (more && cursor) params.set('cursor', cursor);
    next.disabled = true;
    const request = ++latest;
    try {
      const page = await getJson<{ events: SecurityEvent[]; next: string | null }>(`${REPORTS}?${params.toString()}`);
      if (request !== latest) return;
      const rows = page.events.map((e) => eventRow(e, i18n));
      if (more) body.append(...rows);
      else body.replaceChildren(...rows);
      shown = (more ? shown : 0) + page.events.length;
      cursor = page.next;
      next.hidden = cursor === null;
      status.textContent = i18n.t('audit.count', { count: shown });
    } catch (err) {
      if (request !== latest) return;
      // A 401 is a signed-out visitor: the nav is already on its way to the sign-in page.
      if (err instanceof ApiProblem && err.status === 401) return;
      status.textContent = i18n.t('audit.loadFailed');
      showProblem(error, err, i18n);
    } finally {
      if (request === latest) next.disabled = false;
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (form.reportValidity()) void load(false);
  });
  next.addEventListener('click', () => void load(true));

  await Promise.all([startSessionNav(i18n, { requireSession: true }), load(false)]);
}

void main();
