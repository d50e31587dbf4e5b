import { z } from 'zod';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter } from '../http/route.js';
import { vehicleParams } from '../shared/schemas.js';
import { DATA_QUALITY_LISTING } from './repository.js';
import type { DataQualityService } from './service.js';

const eventId = z.string().regex(/^[1-9][0-9]{0,17}$/, { error: 'is not a data-quality event id' });

const listQuery = z.object({
  kind: z.enum(['seq_gap', 'seq_reset', 'conflicting_duplicate']).optional(),
  ...pageParams(DATA_QUALITY_LISTING, { defaultLimit: 50, maxLimit: 500 }),
  before: eventId.optional().describe('Deprecated (use `cursor`): list events with a smaller id, from `nextBefore`'),
});

const eventSchema = z.object({
  id: z.string(),
  detectedAt: z.string(),
  deviceId: z.string(),
  kind: z.enum(['seq_gap', 'seq_reset', 'conflicting_duplicate']),
  detail: z
    .record(z.string(), z.unknown())
    .describe(
      '{from, to} for a gap (missing seqs), {previous, seq} for a reset, {signal, time, stored, received} for a duplicate',
    ),
});

export function dataQualityRoutes(router: ApiRouter, service: DataQualityService): void {
  router.route({
    method: 'get',
    path: '/vehicles/:id/data-quality',
    tag: 'telemetry',
    summary:
      "Losses and contradictions ingest found in what the vehicle's device sent (seq gaps, seq resets, conflicting duplicates), newest first",
    access: { scope: 'telemetry:read' },
    params: vehicleParams,
    query: listQuery,
    response: {
      status: 200,
      description: 'A page of data-quality events',
      schema: z.object({
        vehicleId: z.string(),
        events: z.array(eventSchema),
        next: z.string().nullable().describe('Cursor of the next page; null on the last'),
        nextBefore: z.string().nullable().describe('Deprecated: use `next`'),
      }),
    },
    errors: ['VEHICLE_NOT_FOUND'],
    handle: ({ scope, params, query }) => service.list(scope, params.id, query),
  });
}
