import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { isoTime } from '../telemetry/routes.js';
import { uuid } from '../vehicles/routes.js';
import type { AiInsightsService, AiModelsService } from './service.js';

const modelId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be a model id such as m0001-1a2b3c4d' });
const modelParams = z.object({ id: modelId });

const metricsSchema = z.object({
  minF1: z.number(),
  falseAlarmsPer100h: z.number(),
  perFault: z.array(
    z.object({
      fault: z.string(),
      precision: z.number(),
      recall: z.number(),
      f1: z.number(),
      medianDelayS: z.number().nullable(),
    }),
  ),
  evaluatedAt: z.string(),
  seed: z.number(),
});

const modelSchema = z.object({
  id: z.string(),
  version: z.string(),
  createdAt: z.string(),
  seed: z.number(),
  live: z.boolean(),
  trainingData: z
    .object({ train: z.array(z.string()), validation: z.array(z.string()), test: z.array(z.string()) })
    .describe('Drive files of each split'),
  metrics: metricsSchema.nullable(),
});

const jobSchema = z.object({
  id: z.string(),
  kind: z.string(),
  subject: z.string(),
  status: z.enum(['running', 'succeeded', 'failed']),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  progress: z.array(z.string()).describe('Latest progress lines, oldest first'),
  result: z.object({ modelId: z.string(), version: z.string(), metrics: metricsSchema.nullable() }).nullable(),
  error: z.string().nullable(),
});

const reading = z.object({
  signal: z.string().min(1).max(100).describe('Catalogue key; keys the models do not use are ignored'),
  time: z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative().describe('epoch ms')]),
  value: z.number(),
});

/** Either a stored vehicle's samples over a range, or readings sent with the request. */
const insightBody = z.union([
  z.strictObject({ vehicleId: uuid, from: isoTime.optional(), to: isoTime.optional() }),
  z.strictObject({ readings: z.array(reading).min(1).max(20_000) }),
]);

const source = {
  vehicleId: z.string().nullable(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  readings: z.int().describe('Readings analysed'),
  truncated: z.boolean().describe('Only the newest samples of the range were used'),
};
const alertSchema = z.object({
  kind: z.string(),
  severity: z.enum(['info', 'warning', 'critical']),
  title: z.string(),
  explanation: z.string().describe('What is off and what to check, in plain words'),
  signals: z.array(z.string()),
  observed: z.number().nullable(),
  expected: z.object({ min: z.number().optional(), max: z.number().optional() }),
  unit: z.string(),
  at: z.string(),
});
const maintenanceSchema = z.object({
  ...source,
  modelId: z.string().nullable().describe('Live registry model; null = the rules-only model'),
  modelVersion: z.string(),
  hoursAnalysed: z.number(),
  alerts: z.array(alertSchema),
  systems: z.record(
    z.string(),
    z.object({ status: z.enum(['ok', 'attention', 'no_data']), summary: z.string(), alerts: z.array(alertSchema) }),
  ),
  calibration: z
    .object({
      status: z.enum(['calibrating', 'calibrated']),
      runningHours: z.number(),
      hoursNeeded: z.number(),
      trips: z.number(),
      tripsNeeded: z.number(),
      checks: z.array(z.object({ check: z.string(), ready: z.boolean(), reason: z.string().optional() })),
    })
    .optional()
    .describe(
      "The vehicle's own normal after these readings (from its stored one for a vehicleId): whether the car-specific checks could run",
    ),
});
const drivingSchema = z.object({
  ...source,
  score: z.number().describe('0-100, 100 = smooth'),
  durationHours: z.number(),
  distanceKm: z.number(),
  idlingShare: z.number(),
  harshAccelerations: z.int(),
  harshBrakings: z.int(),
  overRevs: z.int(),
  explanation: z.string(),
  events: z.array(
    z.object({
      kind: z.enum(['harsh_acceleration', 'harsh_braking', 'over_rev']),
      at: z.string(),
      value: z.number(),
      unit: z.string(),
      explanation: z.string(),
    }),
  ),
});

export function aiRoutes(router: ApiRouter, models: AiModelsService, insights: AiInsightsService): void {
  router.route({
    method: 'get',
    path: '/ai/models',
    tag: 'ai',
    summary: 'Registered models with their metrics, training data and which one is live',
    access: { permission: 'ai:read' },
    response: { status: 200, description: 'Models, oldest first', schema: z.object({ models: z.array(modelSchema) }) },
    handle: () => models.list(),
  });

  router.route({
    method: 'post',
    path: '/ai/models/deploy',
    tag: 'ai',
    summary: 'Make a registered model the live one (ingest and predictions use it)',
    access: { permission: 'ai:write' },
    body: z.object({ id: modelId }),
    response: { status: 200, description: 'The deployed model', schema: modelSchema },
    errors: ['MODEL_NOT_FOUND'],
    handle: ({ body }) => models.deploy(body.id),
  });

  router.route({
    method: 'get',
    path: '/ai/models/:id/performance',
    tag: 'ai',
    summary: 'Fault-injection evaluation metrics of one model (null when never evaluated)',
    access: { permission: 'ai:read' },
    params: modelParams,
    response: {
      status: 200,
      description: 'Metrics',
      schema: z.object({ id: z.string(), version: z.string(), metrics: metricsSchema.nullable() }),
    },
    errors: ['MODEL_NOT_FOUND'],
    handle: ({ params }) => models.performance(params.id),
  });

  router.route({
    method: 'post',
    path: '/ai/models/:id/retrain',
    tag: 'ai',
    summary: 'Train, evaluate and register a successor of this model in the background (not deployed)',
    access: { permission: 'ai:write' },
    params: modelParams,
    body: z
      .object({
        seed: z
          .int()
          .min(0)
          .max(2 ** 31)
          .optional(),
        epochs: z.int().min(1).max(500).optional(),
      })
      .optional(),
    response: {
      status: 202,
      description: 'Started; follow the job at Location',
      schema: jobSchema,
      headers: ['Location'],
    },
    errors: ['MODEL_NOT_FOUND', 'DATASET_UNAVAILABLE', 'RETRAIN_RUNNING'],
    handle: async ({ params, body, ctx, scope }) => {
      const job = await models.retrain(scope, params.id, body ?? {});
      ctx.set('Location', `/api/ai/jobs/${job.id}`);
      return job;
    },
  });

  router.route({
    method: 'get',
    path: '/ai/jobs/:id',
    tag: 'ai',
    summary: 'Progress and result of a background job (stored in the database when the platform runs a job queue)',
    access: { permission: 'ai:write' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The job', schema: jobSchema },
    errors: ['JOB_NOT_FOUND'],
    handle: ({ params, scope }) => models.job(scope, params.id),
  });

  router.route({
    method: 'post',
    path: '/ai/maintenance/predict',
    tag: 'ai',
    summary:
      'Health of battery, cooling, fuel trims, catalyst and sensors, each finding explained, from stored samples or sent readings',
    access: { scope: 'telemetry:read' },
    body: insightBody,
    response: { status: 200, description: 'Per-system status and explained alerts', schema: maintenanceSchema },
    errors: ['VEHICLE_NOT_FOUND', 'TIME_RANGE_INVALID'],
    handle: ({ scope, body }) => insights.predict(scope, body),
  });

  router.route({
    method: 'post',
    path: '/ai/driving/analyze',
    tag: 'ai',
    summary: 'Driving-behaviour score with harsh accelerations, brakings and over-revs explained',
    access: { scope: 'telemetry:read' },
    body: insightBody,
    response: { status: 200, description: 'Score and events', schema: drivingSchema },
    errors: ['VEHICLE_NOT_FOUND', 'TIME_RANGE_INVALID'],
    handle: ({ scope, body }) => insights.analyze(scope, body),
  });
}
