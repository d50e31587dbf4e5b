import type { Queryable } from '@clutch/db';
import { messageArguments, sourceCatalogue } from '@clutch/i18n';
import type { NewJob } from '@clutch/jobs';
import { NOTIFICATION_CATEGORIES, type NotificationCategory } from './model.js';
import {
  enqueueAll,
  NOTIFICATION_DISPATCH_QUEUE,
  NOTIFICATION_DISPATCH_SETTINGS,
  type DispatchJobData,
  type NotificationEnqueuer,
} from './queues.js';
import { isTemplate, renderTemplate } from './render.js';

export type { NotificationCategory } from './model.js';

/** What other code asks for to notify one person (COMMS.md; C6 maps domain events to these). */
export interface NotificationRequest {
  /** The recipient. */
  tenantId: string;
  userId: string;
  category: NotificationCategory;
  /** Catalogue key prefix, e.g. `notify.chat.message` -> `.title` / `.body`. */
  template: string;
  /** ICU values; `amountMinor` + `currency` become `{amount}`, formatted in the recipient's language. */
  params: Record<string, string | number>;
  /** Deep link: a path on the web app. */
  url?: string | undefined;
  /** Never notifies twice for the same key (per recipient tenant), e.g. `${outboxEventId}:${userId}`. */
  dedupeKey: string;
  /** Scheduled; quiet hours may defer it further. */
  sendAt?: Date | undefined;
  /** Safety alerts: push (Web Push, FCM, APNs) ignores quiet hours and do-not-disturb; e-mail and SMS do not. */
  urgent?: boolean | undefined;
  /** Who asked (`user:<id>` for an administrator's send); omitted for the platform's own events. */
  createdBy?: string | undefined;
}

const MAX_DEDUPE_KEY = 256;
const MAX_PARAM = 4000;

/** A path on the web app: not another origin (`//host`, `/\host`), no control characters. */
export function isAppPath(url: string): boolean {
  // eslint-disable-next-line no-control-regex
  return url.length <= 2000 && /^\/(?![/\\])/.test(url) && !/[\u0000-\u001f\u007f]/.test(url);
}

/**
 * The arguments a template's title or body takes, parsed once per template (the catalogue is fixed
 * for the process): parsing the ICU message for every request was a visible share of a batch's CPU.
 */
const templateArguments = new Map<string, ReadonlySet<string>>();
function argumentsOf(template: string, part: 'title' | 'body'): ReadonlySet<string> {
  const key = `${template}.${part}`;
  let args = templateArguments.get(key);
  if (!args) {
    args = messageArguments((sourceCatalogue as Readonly<Record<string, string>>)[key]!);
    templateArguments.set(key, args);
  }
  return args;
}

function check(request: NotificationRequest): void {
  const where = `notification ${request.dedupeKey} for ${request.userId}`;
  if (!(NOTIFICATION_CATEGORIES as readonly string[]).includes(request.category))
    throw new Error(`${where}: unknown category ${request.category}`);
  if (!isTemplate(request.template)) throw new Error(`${where}: no template ${request.template} in the catalogue`);
  if (request.dedupeKey.length === 0 || request.dedupeKey.length > MAX_DEDUPE_KEY)
    throw new Error(`${where}: the dedupe key must have 1 to ${MAX_DEDUPE_KEY} characters`);
  if (request.url !== undefined && !isAppPath(request.url)) throw new Error(`${where}: url must be a path on the app`);
  if (request.sendAt !== undefined && Number.isNaN(request.sendAt.getTime()))
    throw new Error(`${where}: sendAt is not a time`);
  const given = new Set(Object.keys(request.params));
  if (given.has('amountMinor') && given.has('currency')) given.add('amount');
  for (const part of ['title', 'body'] as const)
    for (const name of argumentsOf(request.template, part))
      if (!given.has(name)) throw new Error(`${where}: ${request.template}.${part} needs {${name}}`);
  for (const [name, value] of Object.entries(request.params))
    if (typeof value === 'string' ? value.length > MAX_PARAM : !Number.isFinite(value))
      throw new Error(`${where}: parameter ${name} is not a short string or a finite number`);
}

interface Recipient {
  id: string;
  tenant_id: string;
  locale: string;
}

/**
 * Stores one notification per request and queues its dispatch, inside the caller's transaction,
 * which must be a system transaction (`db.transaction`, a system `Scope`): recipients are in other
 * tenants than the event's, and the tenant role may not write notifications at all. The text is
 * rendered now, in the recipient's language. A
 * request whose `dedupeKey` the recipient's tenant already has stores nothing and queues nothing
 * (`ON CONFLICT DO NOTHING`), so a redelivered event never notifies twice. Returns the notification
 * ids in request order (the earlier one's id for a duplicate).
 *
 * Throws on a request that is wrong (unknown template, missing parameter, a recipient who is not a
 * user of `tenantId`): that is a bug in the caller, and its transaction should not commit.
 */
export async function requestNotifications(
  q: Queryable,
  jobs: NotificationEnqueuer,
  requests: readonly NotificationRequest[],
): Promise<string[]> {
  if (requests.length === 0) return [];
  for (const request of requests) check(request);
  const userIds = [...new Set(requests.map((r) => r.userId))];
  const { rows: users } = await q.query<Recipient>(
    'SELECT id::text AS id, tenant_id, locale FROM users WHERE id = ANY ($1::uuid[])',
    [userIds],
  );
  const byId = new Map(users.map((u) => [u.id, u]));
  const now = Date.now();
  const rows = requests.map((request) => {
    const user = byId.get(request.userId);
    if (!user || user.tenant_id !== request.tenantId)
      throw new Error(`notification ${request.dedupeKey}: ${request.userId} is not a user of ${request.tenantId}`);
    const text = renderTemplate(request.template, request.params, user.locale);
    const sendAt = request.sendAt ?? new Date(now);
    return { request, text, sendAt, scheduled: sendAt.getTime() > now };
  });
  const { rows: inserted } = await q.query<{ id: string; tenant_id: string; dedupe_key: string }>(
    `INSERT INTO notifications (tenant_id, user_id, category, template, params, title, body, url, urgent, dedupe_key,
                                send_at, status, created_by)
     SELECT t, u, c, tpl, p::jsonb, ti, b, url, urg, k, s, st, cb
       FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                   $9::boolean[], $10::text[], $11::timestamptz[], $12::text[], $13::text[])
            AS x (t, u, c, tpl, p, ti, b, url, urg, k, s, st, cb)
     ON CONFLICT ON CONSTRAINT notifications_dedupe_key DO NOTHING
     RETURNING id::text AS id, tenant_id, dedupe_key`,
    [
      rows.map((r) => r.request.tenantId),
      rows.map((r) => r.request.userId),
      rows.map((r) => r.request.category),
      rows.map((r) => r.request.template),
      rows.map((r) => JSON.stringify(r.request.params)),
      rows.map((r) => r.text.title),
      rows.map((r) => r.text.body),
      rows.map((r) => r.request.url ?? null),
      rows.map((r) => r.request.urgent ?? false),
      rows.map((r) => r.request.dedupeKey),
      rows.map((r) => r.sendAt),
      rows.map((r) => (r.scheduled ? 'scheduled' : 'pending')),
      rows.map((r) => r.request.createdBy ?? null),
    ],
  );
  const keyOf = (tenantId: string, dedupeKey: string): string => `${tenantId}\u0000${dedupeKey}`;
  const ids = new Map(inserted.map((r) => [keyOf(r.tenant_id, r.dedupe_key), r.id]));
  const fresh = new Set(ids.values());
  const dispatches: NewJob[] = [];
  const due: string[] = [];
  for (const row of rows) {
    const id = ids.get(keyOf(row.request.tenantId, row.request.dedupeKey));
    if (id === undefined || !fresh.delete(id)) continue; // a duplicate, or the same key twice in this batch
    if (row.scheduled)
      dispatches.push({ data: { notificationId: id } satisfies DispatchJobData, startAfter: row.sendAt });
    else due.push(id);
  }
  // Those due now: one dispatch job per dispatch batch's worth, not one each (a job is several writes).
  for (let i = 0; i < due.length; i += NOTIFICATION_DISPATCH_SETTINGS.batchSize) {
    const group = due.slice(i, i + NOTIFICATION_DISPATCH_SETTINGS.batchSize);
    dispatches.push({
      data: (group.length === 1 ? { notificationId: group[0]! } : { notificationIds: group }) satisfies DispatchJobData,
    });
  }
  // One INSERT for every dispatch job of the batch (a statement per request would dominate a big batch).
  await enqueueAll(jobs, NOTIFICATION_DISPATCH_QUEUE, dispatches, q);
  const missing = rows.filter((r) => !ids.has(keyOf(r.request.tenantId, r.request.dedupeKey)));
  if (missing.length > 0) {
    const { rows: earlier } = await q.query<{ id: string; tenant_id: string; dedupe_key: string }>(
      `SELECT n.id::text AS id, n.tenant_id, n.dedupe_key
         FROM notifications n
         JOIN unnest($1::text[], $2::text[]) AS k (t, key) ON n.tenant_id = k.t AND n.dedupe_key = k.key`,
      [missing.map((r) => r.request.tenantId), missing.map((r) => r.request.dedupeKey)],
    );
    for (const r of earlier) ids.set(keyOf(r.tenant_id, r.dedupe_key), r.id);
  }
  return rows.map((r) => ids.get(keyOf(r.request.tenantId, r.request.dedupeKey)) ?? '');
}
