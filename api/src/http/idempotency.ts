import { createHash, randomUUID } from 'node:crypto';
import { ClutchError } from '@clutch/contracts';
import type { Database, Queryable } from '@clutch/db';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import { apiError } from '../errors.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';

/**
 * `Idempotency-Key` for the POSTs that create or move something (draft-ietf-httpapi-idempotency-key-header).
 *
 * - The first request with a key claims it: a row is inserted in its own short transaction before the
 *   handler runs, so a concurrent duplicate finds it and gets 409 (with Retry-After).
 * - When the handler is done, its response (status, the headers worth replaying, the exact body text)
 *   is stored; the same key with the same request (same fingerprint) then gets that response again,
 *   marked `Idempotent-Replayed: true`, without running the handler. A 4xx is stored too: the draft
 *   treats it as the final outcome. A 5xx is not: the claim is released so the client may retry.
 * - The same key with another request (method, path or body) is 422.
 * - Keys are kept per caller (admin, partner tenant + key id) for 24 h, then `purgeIdempotencyKeys`
 *   deletes them; a claim whose request died (process crash) lapses after the lock timeout (60 s), and
 *   a retry with the same request then runs it.
 *
 * How this fits "a use case runs in one transaction": the handler's use case opens and commits its
 * own transaction(s) inside `run`; the response is stored afterwards, in another short transaction.
 * Between the use case's commit and that write there is a window (normally a millisecond) in which
 * the effect exists but no response is stored. A duplicate arriving then finds the row still running
 * and gets 409, never a second execution. Only a crash inside the window loses the response: the row
 * stays "running" until the lock timeout, so duplicates keep getting 409 instead of re-executing
 * while the original could still finish, and only after the timeout may a retry run the use case again
 * (where the use case is naturally unique, e.g. DEVICE_EXISTS, it then answers 409 from the domain).
 * Storing the response inside the use case's transaction would close the window, but the wrapper does
 * not own that transaction (some use cases use several, or call out to ingest or the broker), and the
 * response (status, Location, body) only exists once the handler has returned. Claims are never taken
 * inside the use case's transaction either: on PGlite (one connection) that would nest transactions,
 * and on PostgreSQL the claim would be invisible to the duplicate until the use case commits.
 *
 * The lock timeout must exceed the longest request an idempotent route can take (body timeout plus
 * handler); a request that outlives it may find its claim taken over by a retry, and then its own
 * response is returned to it but not stored.
 */

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
export const MAX_KEY_LENGTH = 255;
export const DEFAULT_KEY_TTL_MS = 24 * 3600_000;
export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
/** The first request usually finishes within a second; a duplicate retried then gets the replay. */
const RETRY_AFTER_SECONDS = 1;

/** Response headers that describe the outcome (not the transport, caching or rate limits): replayed. */
const REPLAYED_HEADERS = ['content-type', 'location', 'content-location', 'etag', 'last-modified'] as const;

// RFC 8941 §3.3.3 sf-string characters, and a bare token for clients that send `Idempotency-Key: 8e03...`
// unquoted (tchar plus ':' and '/', as sf-token, but a leading digit is allowed: UUIDs).
const STRING_CHAR = /^[\x20-\x7e]$/;
const BARE_TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~:/-]+$/;

function invalidKey(detail: string): ClutchError {
  return apiError('IDEMPOTENCY_KEY_INVALID', detail, { header: IDEMPOTENCY_HEADER });
}

/**
 * The key of an `Idempotency-Key` field value: an sf-string (`"..."`, with `\"` and `\\` escapes) or a
 * bare token; undefined when the header is absent. Empty, malformed, repeated (Node joins repeated
 * fields with commas) or longer than 255 characters: IDEMPOTENCY_KEY_INVALID (400). Parameters are
 * not accepted: the draft defines none.
 */
export function parseIdempotencyKey(header: string | readonly string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string') throw invalidKey('Send one Idempotency-Key header');
  const value = header.replace(/^[ \t]+|[ \t]+$/g, '');
  if (value === '') throw invalidKey('The Idempotency-Key header is empty');
  let key: string;
  if (value.startsWith('"')) {
    key = '';
    let i = 1;
    for (; i < value.length; i++) {
      const c = value[i]!;
      if (c === '"') break;
      if (c === '\\') {
        const next = value[++i];
        if (next !== '"' && next !== '\\') throw invalidKey('The Idempotency-Key string has an invalid escape');
        key += next;
      } else if (STRING_CHAR.test(c)) key += c;
      else throw invalidKey('The Idempotency-Key must be printable ASCII');
    }
    if (i >= value.length) throw invalidKey('The Idempotency-Key string is not terminated');
    if (i !== value.length - 1)
      throw invalidKey('The Idempotency-Key must be a single string (one header, no parameters)');
  } else if (BARE_TOKEN.test(value)) key = value;
  else
    throw invalidKey(
      'The Idempotency-Key must be a structured-field string, e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324"',
    );
  if (key === '') throw invalidKey('The Idempotency-Key is empty');
  if (key.length > MAX_KEY_LENGTH) throw invalidKey(`The Idempotency-Key is longer than ${MAX_KEY_LENGTH} characters`);
  return key;
}

/** JSON with object keys sorted at every level (RFC 8785 style): the same document always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** SHA-256 over method, target (path and query) and the canonical body; undefined body (none) differs from `{}`. */
export function requestFingerprint(method: string, target: string, body: unknown): Buffer {
  const canonical = body === undefined ? '' : canonicalJson(body);
  return createHash('sha256').update(`${method.toUpperCase()}\n${target}\n${canonical}`).digest();
}

/** Whose key space a key lives in; a tenant id for tenant callers, so row-level security applies. */
export interface KeyOwner {
  principal: string;
  tenantId: string | null;
}

export function keyOwner(principal: Principal): KeyOwner {
  switch (principal.kind) {
    case 'admin':
      return { principal: 'admin', tenantId: null };
    case 'partner':
      return { principal: `partner:${principal.tenantId}:${principal.keyId}`, tenantId: principal.tenantId };
    case 'user':
      // Per user, not per session: a client that refreshed its session mid-retry still replays.
      return { principal: `user:${principal.userId}`, tenantId: principal.tenantId };
    default: {
      // A new kind of caller (user sessions) needs its own key space here.
      const unknown: never = principal;
      throw new Error(`no idempotency key space for principal ${JSON.stringify(unknown)}`);
    }
  }
}

/** A finished response as stored and replayed. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  /** The exact body text sent; null when there was none. */
  body: string | null;
}

type Claim =
  | { kind: 'claimed'; claim: string }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'running' }
  | { kind: 'mismatch'; method: string; path: string };

/** The `response` column (the status has its own). */
interface ResponseJson {
  headers: Record<string, string>;
  body: string | null;
}

interface KeyRow {
  fingerprint: Uint8Array;
  method: string;
  path: string;
  status: number | null;
  /** Parsed by both drivers; a string only if a driver left jsonb as text. */
  response: ResponseJson | string | null;
}

/** Tenant callers' rows are read and written under row-level security; admin rows as the owner. */
function inScope<T>(db: Database, owner: KeyOwner, fn: (q: Queryable) => Promise<T>): Promise<T> {
  return owner.tenantId === null ? db.transaction(fn) : db.withTenant(owner.tenantId, fn);
}

const ms = (param: number): string => `($${param}::double precision * interval '1 millisecond')`;

/**
 * Claims the key (a new row, or one whose key expired or whose running request timed out with the
 * same fingerprint), or reports what holds it. One short transaction, committed before the handler runs.
 */
async function claimKey(
  db: Database,
  owner: KeyOwner,
  key: string,
  request: { method: string; path: string; fingerprint: Buffer },
  timing: { ttlMs: number; lockTimeoutMs: number },
): Promise<Claim> {
  const claim = randomUUID();
  // A row deleted between the upsert and the read (a 5xx released it, the purge ran): claim again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = await inScope(db, owner, async (q): Promise<Claim | undefined> => {
      const claimed = await q.query(
        `INSERT INTO idempotency_keys AS k (tenant_id, principal, key, method, path, fingerprint, claim)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (principal, key) DO UPDATE
            SET tenant_id = EXCLUDED.tenant_id, method = EXCLUDED.method, path = EXCLUDED.path,
                fingerprint = EXCLUDED.fingerprint, claim = EXCLUDED.claim, status = NULL, response = NULL,
                created_at = now(), completed_at = NULL
          WHERE k.created_at <= now() - ${ms(8)}
             OR (k.status IS NULL AND k.fingerprint = EXCLUDED.fingerprint AND k.created_at <= now() - ${ms(9)})
         RETURNING k.claim`,
        [
          owner.tenantId,
          owner.principal,
          key,
          request.method,
          request.path,
          request.fingerprint,
          claim,
          timing.ttlMs,
          timing.lockTimeoutMs,
        ],
      );
      if (claimed.rows.length > 0) return { kind: 'claimed', claim };
      const { rows } = await q.query<KeyRow>(
        'SELECT fingerprint, method, path, status, response FROM idempotency_keys WHERE principal = $1 AND key = $2',
        [owner.principal, key],
      );
      const row = rows[0];
      if (!row) return undefined;
      if (!Buffer.from(row.fingerprint).equals(request.fingerprint))
        return { kind: 'mismatch', method: row.method, path: row.path };
      if (row.status === null) return { kind: 'running' };
      const stored = typeof row.response === 'string' ? (JSON.parse(row.response) as ResponseJson) : row.response;
      return {
        kind: 'replay',
        response: { status: Number(row.status), headers: stored?.headers ?? {}, body: stored?.body ?? null },
      };
    });
    if (result) return result;
  }
  return { kind: 'running' };
}

async function completeKey(
  db: Database,
  owner: KeyOwner,
  key: string,
  claim: string,
  response: StoredResponse,
): Promise<void> {
  await inScope(db, owner, (q) =>
    q.query(
      `UPDATE idempotency_keys SET status = $4, response = $5::jsonb, completed_at = now()
        WHERE principal = $1 AND key = $2 AND claim = $3 AND status IS NULL`,
      [
        owner.principal,
        key,
        claim,
        response.status,
        JSON.stringify({ headers: response.headers, body: response.body } satisfies ResponseJson),
      ],
    ),
  );
}

async function releaseKey(db: Database, owner: KeyOwner, key: string, claim: string): Promise<void> {
  await inScope(db, owner, (q) =>
    q.query('DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND claim = $3 AND status IS NULL', [
      owner.principal,
      key,
      claim,
    ]),
  );
}

/**
 * Deletes keys older than the TTL (finished or not). Run it from a schedule (hourly is plenty): keys
 * past the TTL are already ignored when claimed, so the purge only bounds the table's size. Runs as the
 * owner (all tenants). Returns how many rows went.
 */
export async function purgeIdempotencyKeys(db: Queryable, options: { ttlMs?: number } = {}): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM idempotency_keys WHERE created_at <= now() - ${ms(1)}`, [
    options.ttlMs ?? DEFAULT_KEY_TTL_MS,
  ]);
  return rowCount;
}

/** The response the handler left on ctx, or undefined when it cannot be stored (a stream or buffer). */
function captureResponse(ctx: Context): StoredResponse | undefined {
  const body: unknown = ctx.body;
  let text: string | null;
  if (body === undefined || body === null) text = null;
  else if (typeof body === 'string') text = body;
  else if (
    Buffer.isBuffer(body) ||
    body instanceof Uint8Array ||
    typeof (body as { pipe?: unknown }).pipe === 'function'
  )
    return undefined;
  // What Koa sends for an object body (plain JSON.stringify), so the replay is byte-identical.
  else text = JSON.stringify(body);
  return { status: ctx.status, headers: pickHeaders((name) => ctx.response.get(name)), body: text };
}

function pickHeaders(get: (name: string) => unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = get(name);
    if (typeof value === 'string' && value !== '') headers[name] = value;
    else if (typeof value === 'number') headers[name] = String(value);
  }
  return headers;
}

function replay(ctx: Context, response: StoredResponse): void {
  if (response.body !== null) ctx.body = response.body;
  // After the body: assigning a body sets a default status and type.
  ctx.status = response.status;
  for (const [name, value] of Object.entries(response.headers)) {
    if (name === 'content-type') ctx.type = value;
    else ctx.set(name, value);
  }
  ctx.set(REPLAYED_HEADER, 'true');
}

export interface IdempotencyDeps {
  db: Database;
  /** How long a key is remembered (default 24 h). */
  ttlMs?: number;
  /** How long a running request holds its key before a retry may take it over (default 60 s). */
  lockTimeoutMs?: number;
  /** Told when a finished response could not be stored (the client still gets it). */
  logger?: Pick<Logger, 'warn'>;
}

/**
 * Runs `run` (which leaves its response on ctx, or throws) at most once per caller and key. `body` is
 * the parsed JSON request body (undefined for a route without one): the stream is read by then.
 * Without an `Idempotency-Key` header the request simply runs.
 */
export type Idempotency = (
  ctx: Context,
  principal: Principal,
  body: unknown,
  run: () => Promise<void>,
) => Promise<void>;

export function withIdempotency(deps: IdempotencyDeps): Idempotency {
  const timing = {
    ttlMs: deps.ttlMs ?? DEFAULT_KEY_TTL_MS,
    lockTimeoutMs: deps.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
  };
  return async (ctx, principal, body, run) => {
    const key = parseIdempotencyKey(ctx.req.headers['idempotency-key']);
    if (key === undefined) return run();
    const owner = keyOwner(principal);
    const path = ctx.querystring ? `${ctx.path}?${ctx.querystring}` : ctx.path;
    const request = { method: ctx.method, path, fingerprint: requestFingerprint(ctx.method, path, body) };
    const claim = await claimKey(deps.db, owner, key, request, timing);
    switch (claim.kind) {
      case 'replay':
        return replay(ctx, claim.response);
      case 'mismatch':
        throw apiError(
          'IDEMPOTENCY_KEY_REUSED',
          `This Idempotency-Key was used for another request (${claim.method} ${claim.path} or another body)`,
        );
      case 'running':
        ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
        throw apiError(
          'IDEMPOTENCY_KEY_IN_USE',
          'A request with this Idempotency-Key is still being processed; retry later',
          {
            retryAfterSeconds: RETRY_AFTER_SECONDS,
          },
        );
      case 'claimed':
        break;
    }

    // Bookkeeping failures must not turn the handler's outcome into a 500: the effect has happened
    // (or not) already, and a claim left behind lapses after the lock timeout.
    const settle = async (response: StoredResponse | undefined): Promise<void> => {
      try {
        if (response === undefined || response.status >= 500) await releaseKey(deps.db, owner, key, claim.claim);
        else await completeKey(deps.db, owner, key, claim.claim, response);
      } catch (err) {
        deps.logger?.warn({ err, key, principal: owner.principal }, 'idempotency key not recorded');
      }
    };
    try {
      await run();
    } catch (err) {
      // The problem the problem middleware will render from this error: a 4xx is final and stored as
      // that exact document; a 5xx (or anything unknown) is released for a retry.
      const { problem } = toProblem(err, ctx.originalUrl);
      await settle(
        problem.status >= 500
          ? undefined
          : {
              status: problem.status,
              headers: { 'content-type': PROBLEM_CONTENT_TYPE },
              body: JSON.stringify(problem),
            },
      );
      throw err;
    }
    await settle(captureResponse(ctx));
  };
}
