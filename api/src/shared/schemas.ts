import { z } from 'zod';

/**
 * Input schemas several domains declare routes with. They live here, not in the domain that first
 * needed them, so domains never import each other's route files.
 */

/** Postgres accepts any 8-4-4-4-12 hex id (not only RFC 9562 versions), so the edge does too. */
export const uuid = z.guid({ error: 'must be a UUID' });

/** `/vehicles/:id` and the other routes below one vehicle. */
export const vehicleParams = z.object({ id: uuid });

/** Tenant and device ids are MQTT topic segments (contracts `isValidSegment`). */
export const segmentId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 characters of A-Z a-z 0-9 _ -' });

export const isoTime = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 date-time with Z or an offset' })
  .transform((s) => new Date(s));

/** `from` and `to`, both optional; services close the range with resolveRange. */
export const timeRangeQuery = z.object({ from: isoTime.optional(), to: isoTime.optional() });

/**
 * A query parameter naming several values of one closed list, comma-separated (`status=a,b`): the
 * list, undefined when absent or empty; an unknown value is a 400 naming it.
 */
export function commaList(values: readonly string[], description: string) {
  return z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s === '') return undefined;
      const list = s.split(',');
      for (const x of list)
        if (!values.includes(x)) {
          ctx.addIssue({ code: 'custom', message: `unknown status ${x}` });
          return z.NEVER;
        }
      return list;
    })
    .describe(description);
}
