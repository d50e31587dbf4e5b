import { LOG_FORMATS } from '@clutch/ml';
import { z } from 'zod';
import { readUpload } from '../chat/attachments/upload-body.js';
import type { ApiRouter } from '../http/route.js';
import { uuid, vehicleParams } from '../shared/schemas.js';
import { MAX_IMPORT_BYTES, type TelemetryImportsService } from './service.js';

/** Below the prefix: the upload's body is the CSV itself, so the JSON-only write rule lets it through (app.ts). */
export const TELEMETRY_IMPORT_UPLOAD_PATH = /^\/vehicles\/[^/]+\/imports$/;

/** The whole upload must arrive within this time. */
const UPLOAD_TIMEOUT_MS = 120_000;

const importSchema = z.object({
  id: z.string(),
  vehicleId: z.string(),
  fileName: z.string().nullable(),
  bytes: z.number(),
  sha256: z.string(),
  format: z.enum(LOG_FORMATS).nullable(),
  via: z.enum(['api', 'cli']),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  summary: z
    .unknown()
    .describe(
      'What the import did (docs/imports.md): rows, readings per signal, skipped columns, time range, alerts, calibration',
    ),
  error: z.object({ code: z.string(), detail: z.string() }).nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});

export function telemetryImportRoutes(router: ApiRouter, imports: TelemetryImportsService): void {
  router.route({
    method: 'post',
    path: '/vehicles/:id/imports',
    tag: 'telemetry',
    summary: "Import an app's log (Torque Pro, Car Scanner, OBD Auto Doctor, carOBD CSV) into the vehicle's history",
    description:
      `The request body is the CSV file itself (\`Content-Type: text/csv\` or \`text/plain\`, at most ` +
      `${MAX_IMPORT_BYTES / 1024 / 1024} MB), with \`?name=\` (its file name: Car Scanner and OBD Auto Doctor ` +
      `files carry their date there) and optionally \`?format=\` (detected from the header otherwise). ` +
      `The import runs as a job: poll the returned import until it is \`succeeded\` or \`failed\`. ` +
      `The same file uploaded again answers its first import. Send \`X-Requested-With\` (or a bearer token).`,
    access: { scope: 'commands:write' },
    params: vehicleParams,
    query: z.object({
      name: z.string().min(1).max(255).optional(),
      format: z.enum(LOG_FORMATS).optional(),
    }),
    response: {
      status: 202,
      description: 'Recorded and queued (or the earlier import of the same file)',
      schema: importSchema,
      headers: ['Location'],
    },
    errors: [
      'VEHICLE_NOT_FOUND',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'REQUEST_TIMEOUT',
      'IMPORT_FORMAT_UNKNOWN',
      'IMPORT_EMPTY',
      'JOBS_UNAVAILABLE',
    ],
    handle: async ({ scope, principal, params, query, ctx }) => {
      const created = await imports.upload(scope, principal, params.id, {
        read: (maxBytes) => readUpload(ctx, { maxBytes, timeoutMs: UPLOAD_TIMEOUT_MS }),
        fileName: query.name,
        format: query.format,
      });
      ctx.set('Location', `${ctx.path.replace(/\/$/, '')}/${created.id}`);
      return created;
    },
  });

  router.route({
    method: 'get',
    path: '/vehicles/:id/imports',
    tag: 'telemetry',
    summary: "The vehicle's imported logs, newest first (at most 50), with their status and summary",
    access: { scope: 'telemetry:read' },
    params: vehicleParams,
    response: { status: 200, description: 'Imports', schema: z.object({ items: z.array(importSchema) }) },
    errors: ['VEHICLE_NOT_FOUND'],
    handle: async ({ scope, params }) => ({ items: await imports.list(scope, params.id) }),
  });

  router.route({
    method: 'get',
    path: '/vehicles/:id/imports/:importId',
    tag: 'telemetry',
    summary: 'One import: its status and, once done, what it did (or why it failed)',
    access: { scope: 'telemetry:read' },
    params: z.object({ id: uuid, importId: uuid }),
    response: { status: 200, description: 'The import', schema: importSchema },
    errors: ['VEHICLE_NOT_FOUND', 'IMPORT_NOT_FOUND'],
    handle: ({ scope, params }) => imports.get(scope, params.id, params.importId),
  });
}
