import { saeSignals, signalCatalogue, signalsForProfile } from '@clutch/contracts';
import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { parseInput } from '../http/validate.js';
import { vehicleParams } from '../shared/schemas.js';
import { listVehicleSignals } from './service.js';

const values = z
  .record(z.string(), z.string())
  .describe("An enumeration: the stored value is the code, this is OBDb's description of each code");
const states = z
  .enum(['offon', 'onoff', 'noyes'])
  .describe("A two-state value (0 or 1) in OBDb's wording: offon (1 = on), onoff (1 = off), noyes (1 = yes)");
const profile = z
  .string()
  .describe("The OBDb vehicle profile of a vehicle-specific signal, e.g. 'Toyota-Camry'; absent for SAE signals");

/** A catalogue entry (contracts `SignalDefinition`), for the document: the pages read key, name and unit. */
export const signalSchema = z.object({
  id: z.int(),
  key: z.string(),
  name: z.string(),
  source: z.enum(['obd', 'elm327']),
  obdb: z.string().optional(),
  service: z.string().optional(),
  pid: z.string().optional(),
  header: z.string().optional().describe('Request CAN header of a vehicle-specific command'),
  profile: profile.optional(),
  command: z.string().optional(),
  unit: z.string().describe("Unit symbol ('' for dimensionless)"),
  min: z.number(),
  max: z.number(),
  pollSeconds: z.number().optional(),
  values: values.optional(),
  states: states.optional(),
});

/** A signal a vehicle has data of. */
export const vehicleSignalSchema = z.object({
  signal: z.string().describe('The catalogue key, as in telemetry payloads and `?signal=`'),
  name: z.string(),
  unit: z.string(),
  min: z.number(),
  max: z.number(),
  profile: profile.optional(),
  values: values.optional(),
  states: states.optional(),
});

export const catalogueQuery = z.object({
  profile: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe(
      "Add the vehicle-specific signals of this OBDb vehicle profile (e.g. 'Toyota-Camry'), or of every profile with `all`",
    ),
});

export function signalRoutes(router: ApiRouter): void {
  router.publicRoute(
    {
      method: 'get',
      path: '/signals',
      tag: 'platform',
      summary: 'The signal catalogue (keys, units, plausible ranges); vehicle-specific signals on request',
      description:
        'The SAE J1979 and adapter signals every car can be asked for. With `profile`, also the vehicle-specific ' +
        'signals (key `vehicle.<obdb id>`, with `profile`) of that OBDb vehicle profile, or of every profile ' +
        '(`profile=all`, over a thousand entries).',
      query: catalogueQuery,
      response: { status: 200, description: 'Catalogue', schema: z.object({ signals: z.array(signalSchema) }) },
    },
    (ctx) => {
      const { profile: wanted } = parseInput(catalogueQuery, ctx.query, 'query');
      ctx.body = {
        signals:
          wanted === undefined
            ? saeSignals
            : wanted === 'all'
              ? signalCatalogue
              : [...saeSignals, ...signalsForProfile(wanted)],
      };
    },
  );

  router.route({
    method: 'get',
    path: '/vehicles/:id/signals',
    tag: 'telemetry',
    summary: 'The signals this vehicle has sent, SAE and vehicle-specific (with their OBDb profile)',
    access: { scope: 'telemetry:read' },
    params: vehicleParams,
    response: {
      status: 200,
      description: 'The vehicle signals',
      schema: z.object({ vehicleId: z.string(), signals: z.array(vehicleSignalSchema) }),
    },
    errors: ['VEHICLE_NOT_FOUND'],
    handle: ({ scope, params }) => listVehicleSignals(scope, params.id),
  });
}
