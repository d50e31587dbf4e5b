import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The largest request body the emulators accept; a provider's API refuses far less, this only guards memory. */
const MAX_BODY_BYTES = 1_000_000;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text).toString(),
    ...headers,
  });
  res.end(text);
}

/** Provider-style random ids: `pi_` + 24 characters of [0-9a-zA-Z]. */
export function randomId(prefix: string, length = 24): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return prefix ? `${prefix}_${out}` : out;
}

/** Deterministic pseudo-random numbers (mulberry32) so a test's shuffles and duplicates are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** An injected failure: the next matching request(s) answer `status` with `body` instead of being executed. */
export interface InjectedFailure {
  method?: string | undefined;
  path: string;
  status: number;
  body?: unknown;
  times: number;
}

/**
 * Normalises the two call shapes `failNext(path, status, body?, times?)` and
 * `failNext(method, path, status, body?, times?)`.
 */
export function parseFailNextArgs(args: unknown[]): InjectedFailure {
  const methods = new Set(['GET', 'POST', 'DELETE', 'PATCH', 'PUT']);
  const first = String(args[0]);
  if (methods.has(first.toUpperCase()) && typeof args[1] === 'string') {
    return {
      method: first.toUpperCase(),
      path: args[1],
      status: Number(args[2]),
      body: args[3],
      times: typeof args[4] === 'number' ? args[4] : 1,
    };
  }
  return { path: first, status: Number(args[1]), body: args[2], times: typeof args[3] === 'number' ? args[3] : 1 };
}

/** Takes one use of the first failure matching the request (path match: equal, or a prefix ending at a `/`). */
export function takeFailure(failures: InjectedFailure[], method: string, path: string): InjectedFailure | undefined {
  const index = failures.findIndex(
    (f) =>
      (f.method === undefined || f.method === method) &&
      (path === f.path || path.startsWith(f.path.endsWith('/') ? f.path : `${f.path}/`)),
  );
  if (index < 0) return undefined;
  const failure = failures[index] as InjectedFailure;
  failure.times -= 1;
  if (failure.times <= 0) failures.splice(index, 1);
  return failure;
}

export const CORS_HEADERS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
  'access-control-allow-headers':
    'Authorization, Content-Type, Idempotency-Key, Stripe-Version, Stripe-Account, PayPal-Request-Id, Prefer',
  'access-control-max-age': '600',
};
