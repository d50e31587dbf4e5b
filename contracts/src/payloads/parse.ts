import { z } from 'zod';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A UTF-8 JSON payload as a value, or why it is not JSON. */
export function decodeJson(payload: Uint8Array | string): ParseResult<unknown> {
  try {
    const text =
      typeof payload === 'string'
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, reason: `payload is not valid JSON: ${(err as Error).message}` };
  }
}

/** Decodes a UTF-8 JSON payload and validates it; every failure is a readable reason, never a throw. */
export function parseJsonPayload<T>(
  payload: Uint8Array | string,
  schema: z.ZodType<T>,
  maxBytes: number,
): ParseResult<T> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > maxBytes) return { ok: false, reason: `payload is ${size} bytes, the limit is ${maxBytes}` };
  const decoded = decodeJson(payload);
  if (!decoded.ok) return decoded;
  const result = schema.safeParse(decoded.value);
  if (!result.success) return { ok: false, reason: describeIssues(result.error) };
  return { ok: true, value: result.data };
}

/** Where and what, for at most three issues: the reason a dead letter carries. */
export function describeIssues(error: Pick<z.ZodError, 'issues'>): string {
  const shown = error.issues.slice(0, 3).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    return `${where}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return `invalid payload: ${shown.join('; ')}${more}`;
}
