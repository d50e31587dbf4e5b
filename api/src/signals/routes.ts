import { signalCatalogue } from '@clutch/contracts';
import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';

/** A catalogue entry (contracts `SignalDefinition`), for the document: the pages read key, name and unit. */
export const signalSchema = z.object({
  id: z.int(),
  key: z.string(),
  name: z.string(),
  source: z.enum(['obd', 'elm327']),
  obdb: z.string().optional(),
  service: z.string().optional(),
  pid: z.string().optional(),
  command: z.string().optional(),
  unit: z.string().describe("Unit symbol ('' for dimensionless)"),
  min: z.number(),
  max: z.number(),
  pollSeconds: z.number().optional(),
});

export function signalRoutes(router: ApiRouter): void {
  router.publicRoute(
    {
      method: 'get',
      path: '/signals',
      tag: 'platform',
      summary: 'The signal catalogue (keys, units, plausible ranges)',
      response: { status: 200, description: 'Catalogue', schema: z.object({ signals: z.array(signalSchema) }) },
    },
    (ctx) => {
      ctx.body = { signals: signalCatalogue };
    },
  );
}
