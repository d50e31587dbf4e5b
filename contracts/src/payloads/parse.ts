import { z } from 'zod';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Decodes a UTF-8 JSON payload and validates it; every failure is a readable reason, never a throw. */
export function parseJsonPayload<T>(
  payload: Uint8Array | string,
  schema: z.ZodType<T>,
  maxBytes: number,
): ParseResult<T> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > maxBytes) return { ok: false, reason: `payload is ${size} bytes, the limit is ${maxBytes}` };
  let data: unknown;
  try {
    const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
    data = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `payload is not valid JSON: ${(err as Error).message}` };
  }
  const result = schema.safeParse(data);
  if (!result.success) return { ok: false, reason: describeIssues(result.error) };
  return { ok: true, value: result.data };
}

function describeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 3).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    return `${where}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return `invalid payload: ${shown.join('; ')}${more}`;
}
