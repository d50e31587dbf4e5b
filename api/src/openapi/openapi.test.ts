import { readFileSync } from 'node:fs';
import { createInProcessBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PREFIX, createApi } from '../app.js';
import { apiErrors, type ApiErrorCode } from '../errors.js';
import { startApiServer, type ApiServer } from '../server.js';
import { openApiPath, routeProblems, type OpenApiDocument } from './document.js';

const docs = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
let server: ApiServer;
let document: OpenApiDocument;

beforeAll(async () => {
  // Serving the document never touches the database, so none is opened.
  server = await startApiServer({
    db: {} as Database,
    bus: createInProcessBus(),
    health: async () => ({}),
    logger: pino({ level: 'silent' }),
    port: 0,
    requireAuth: true,
  });
  const res = await fetch(`${server.url}/api/openapi.json`);
  expect(res.status).toBe(200);
  document = (await res.json()) as OpenApiDocument;
});

afterAll(async () => {
  await server?.close();
});

describe('OpenAPI document', () => {
  const api = createApi({ db: {} as Database, bus: createInProcessBus(), health: async () => ({}) });

  it('is OpenAPI 3.1 and public', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.paths['/api/openapi.json']?.get?.security).toEqual([]);
  });

  it('documents every route the Koa router really serves, and nothing else', () => {
    const served = api.router.stack.flatMap((layer) =>
      layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m.toLowerCase()} ${openApiPath('', String(layer.path))}`),
    );
    const documented = Object.entries(document.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m} ${path}`),
    );
    expect(served.length).toBeGreaterThan(20);
    expect(documented.sort()).toEqual(served.sort());
    expect(served.every((r) => r.split(' ')[1]!.startsWith(`${API_PREFIX}/`))).toBe(true);
  });

  it("lists each route's problems by status, with codes from the catalogue", () => {
    for (const spec of api.routes) {
      const op = document.paths[openApiPath(API_PREFIX, spec.path)]![spec.method]!;
      for (const code of routeProblems(spec)) {
        const response = op.responses[String(apiErrors[code].status)] as { description: string } | undefined;
        expect(response?.description, `${spec.method} ${spec.path} ${code}`).toContain(code);
      }
      if (spec.access !== 'public') expect(op.responses['401'], spec.path).toBeDefined();
      expect(op.responses['500'], spec.path).toBeDefined();
    }
  });

  it('describes inputs from the validation schemas', () => {
    const telemetry = document.paths['/api/vehicles/{id}/telemetry']!.get!;
    expect(telemetry.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path', required: true }));
    expect(telemetry.parameters).toContainEqual(
      expect.objectContaining({ name: 'signal', in: 'query', required: true }),
    );
    expect(telemetry.parameters).toContainEqual(
      expect.objectContaining({
        name: 'bucket',
        in: 'query',
        required: false,
        schema: { type: 'string', enum: ['1m', '1h'] },
      }),
    );
    const command = document.paths['/api/vehicles/{id}/commands']!.post!;
    expect(command['x-access']).toBe('scope commands:write');
    expect(JSON.stringify(command.requestBody)).toContain('"maximum":600000');
  });
});

describe('docs/api.md', () => {
  it('documents every error code of the catalogue', () => {
    const missing = (Object.keys(apiErrors) as ApiErrorCode[]).filter((code) => !docs.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it('mentions every route', () => {
    const api = createApi({ db: {} as Database, bus: createInProcessBus(), health: async () => ({}) });
    const missing = api.routes
      .map((r) => `${r.method.toUpperCase()} ${API_PREFIX}${r.path}`)
      .filter((route) => !docs.includes(route));
    expect(missing).toEqual([]);
  });
});
