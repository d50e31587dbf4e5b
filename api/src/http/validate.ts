import type { z } from 'zod';
import { apiError } from '../errors.js';

export type InputLocation = 'query' | 'params' | 'body';

/** Parses request input at the edge; failures become VALIDATION_FAILED with one entry per issue. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: InputLocation): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    pointer: `/${where}${issue.path.map((p) => `/${String(p)}`).join('')}`,
    detail: issue.message,
  }));
  const first = errors[0];
  const summary = first ? `${first.pointer.slice(1).replaceAll('/', '.')}: ${first.detail}` : 'invalid input';
  throw apiError('VALIDATION_FAILED', `Invalid ${where}: ${summary}`, { errors });
}
