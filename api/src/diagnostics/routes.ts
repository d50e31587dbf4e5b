import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { uuid } from '../shared/schemas.js';
import type { DiagnosticsService } from './service.js';

const system = z.enum(['powertrain', 'chassis', 'body', 'network']);
const diagnosticsSchema = z.object({
  vehicleId: z.string(),
  reportedAt: z.string().nullable(),
  clearedAt: z.string().nullable(),
  milOn: z.boolean(),
  current: z.array(
    z.object({
      code: z.string(),
      kind: z.enum(['stored', 'pending', 'permanent']),
      ecu: z.string().nullable(),
      description: z.string().nullable(),
      system,
      milRelevant: z.boolean(),
      firstSeen: z.string(),
    }),
  ),
  codes: z.array(
    z.object({
      code: z.string(),
      description: z.string().nullable(),
      system,
      firstSeen: z.string(),
      lastSeen: z.string(),
      reports: z.int(),
    }),
  ),
  history: z.array(
    z.object({
      time: z.string(),
      codes: z.array(z.object({ code: z.string(), kind: z.string(), ecu: z.string().nullable() })),
    }),
  ),
  links: z.object({
    interpret: z
      .object({
        method: z.literal('POST'),
        href: z.string(),
        body: z.object({ codes: z.array(z.string()), vehicleId: z.string() }),
      })
      .nullable()
      .describe(
        'The request that interprets the current codes (else every code seen): severity, causes, repair, nearby prices; null without codes',
      ),
  }),
});

export function diagnosticsRoutes(router: ApiRouter, diagnostics: DiagnosticsService): void {
  router.route({
    method: 'get',
    path: '/obd2/diagnostics/:vehicleId',
    tag: 'diagnostics',
    summary:
      'Trouble codes: current (the latest report, unless cleared since), every code seen, recent reports, plain-words descriptions',
    access: { scope: 'dtc:read' },
    params: z.object({ vehicleId: uuid }),
    query: z.object({
      history: z.coerce.number().int().min(1).max(200).default(20).describe('How many recent reports to list'),
    }),
    response: { status: 200, description: 'Diagnostics', schema: diagnosticsSchema },
    errors: ['VEHICLE_NOT_FOUND'],
    handle: ({ scope, params, query }) => diagnostics.get(scope, params.vehicleId, query.history),
  });
}
