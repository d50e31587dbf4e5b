import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { uuid } from '../shared/schemas.js';
import { DTC_FORMAT } from './knowledge.js';
import { DEFAULT_RADIUS_KM, MAX_CODES, MAX_RADIUS_KM, type ErrorCodesService } from './service.js';

const troubleCode = z.string().trim().toUpperCase().regex(DTC_FORMAT, {
  error: 'must be an SAE J2012 trouble code: P, C, B or U, then 0-3 and three hex digits (P0301)',
});

const cost = z.object({
  currency: z.string(),
  minMinor: z.int(),
  maxMinor: z.int(),
  shops: z.int().describe('Shops within the radius whose price list prices the service'),
});

const interpretedCode = z.object({
  code: z.string(),
  description: z.string().nullable(),
  known: z.boolean().describe('false: the code is well-formed but nothing is known about it (reserved range)'),
  matchedBy: z.enum(['code', 'family', 'unknown']),
  system: z.enum(['powertrain', 'chassis', 'body', 'network']),
  definedBy: z.enum(['generic', 'manufacturer', 'reserved']),
  severity: z.enum(['critical', 'high', 'medium', 'low', 'unknown']),
  area: z.string().nullable(),
  causes: z.array(z.string()),
  repair: z.string().nullable(),
  source: z.string().nullable(),
  services: z.array(z.object({ code: z.string(), cost: cost.nullable() })),
  cost: cost.extend({ service: z.string() }).nullable(),
  onVehicle: z.object({ kind: z.enum(['stored', 'pending', 'permanent']), firstSeen: z.string() }).nullable(),
});

export const errorCodesBody = z.strictObject({
  codes: z.array(troubleCode).min(1).max(MAX_CODES),
  vehicleId: uuid
    .optional()
    .describe('A vehicle whose trouble codes the caller reads: says which codes it reports now'),
  position: z
    .strictObject({
      lat: z.number().min(-90).max(90),
      lon: z.number().min(-180).max(180),
      radiusKm: z.number().positive().max(MAX_RADIUS_KM).optional().describe(`Default ${DEFAULT_RADIUS_KM}`),
    })
    .optional()
    .describe(
      "Where to look for shops' prices; default: the vehicle's last position, for a caller who may read its location",
    ),
});

export function errorCodeRoutes(router: ApiRouter, service: ErrorCodesService): void {
  router.route({
    method: 'post',
    path: '/obd2/error-codes',
    tag: 'diagnostics',
    summary:
      'Interpret trouble codes: description, severity, likely causes, recommended repair, the services that fix it and their price range at shops nearby',
    description:
      'A read with a body (the codes): repeating it is safe. Severity and causes come from a knowledge table built on the SAE J2012 code families with entries for well-known codes (docs/api.md, Interpreting trouble codes); an unknown code answers `known: false`. Costs are the min..max over the price lists of listed shops within the radius (fixed prices, hourly rates times the service duration), in integer minor units.',
    access: { permission: 'dtc:read', perResource: 'service' },
    body: errorCodesBody,
    response: {
      status: 200,
      description: 'One interpretation per distinct code, in the order given',
      schema: z.object({
        codes: z.array(interpretedCode),
        position: z
          .object({ lat: z.number(), lon: z.number(), radiusKm: z.number(), from: z.enum(['request', 'vehicle']) })
          .nullable(),
      }),
    },
    errors: ['VEHICLE_NOT_FOUND'],
    idempotent: false,
    handle: ({ scope, policy, body }) => service.interpret({ scope, policy }, body),
  });
}
