import { z } from 'zod';
import { accessLabel } from '../auth/principal.js';
import { apiErrors, problemType, type ApiErrorCode } from '../errors.js';
import { PROBLEM_CONTENT_TYPE } from '../http/problem.js';
import { honoursIdempotencyKey, type RouteSpec } from '../http/route.js';

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, unknown>;
  security: Record<string, string[]>[];
  tags: { name: string }[];
}

interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  'x-access': string;
  security?: Record<string, string[]>[];
  parameters?: JsonSchema[];
  requestBody?: JsonSchema;
  responses: Record<string, JsonSchema>;
}

/** Zod -> JSON Schema (draft 2020-12, which OpenAPI 3.1 uses), as the client sends it (`io: 'input'`). */
export function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as JsonSchema;
  return rest;
}

/** `/vehicles/:id` -> `/vehicles/{id}`. */
export const openApiPath = (prefix: string, koaPath: string): string =>
  prefix + koaPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** draft-ietf-httpapi-idempotency-key-header: the same key and body replay the stored response for 24 h. */
const IDEMPOTENCY_KEY_PARAMETER: JsonSchema = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'A unique key (sf-string, at most 255 characters): a repeat with the same key and body within 24 h returns the stored response with `Idempotent-Replayed: true`',
  schema: { type: 'string', maxLength: 257 },
};

/** The problems a route can answer with: its own plus those every route of its kind shares. */
export function routeProblems(spec: RouteSpec): ApiErrorCode[] {
  const codes = new Set<ApiErrorCode>(spec.errors ?? []);
  if (spec.params || spec.query || spec.body) codes.add('VALIDATION_FAILED');
  if (spec.body) {
    codes.add('BAD_REQUEST');
    codes.add('PAYLOAD_TOO_LARGE');
  }
  if (spec.access !== 'public') codes.add('UNAUTHENTICATED');
  if (spec.access === 'admin' || typeof spec.access === 'object') codes.add('FORBIDDEN');
  if (spec.access !== 'public' && honoursIdempotencyKey(spec)) {
    codes.add('IDEMPOTENCY_KEY_INVALID');
    codes.add('IDEMPOTENCY_KEY_IN_USE');
    codes.add('IDEMPOTENCY_KEY_REUSED');
  }
  if (spec.access !== 'public') codes.add('RATE_LIMITED');
  if (spec.body) codes.add('REQUEST_TIMEOUT');
  if (spec.method !== 'get') codes.add('UNSUPPORTED_MEDIA_TYPE');
  codes.add('HOST_NOT_ALLOWED');
  codes.add('INTERNAL');
  return [...codes];
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const s = jsonSchema(schema);
  const required = new Set((s.required as string[] | undefined) ?? []);
  return Object.entries((s.properties as Record<string, JsonSchema> | undefined) ?? {}).map(([name, prop]) => {
    const { description, ...rest } = prop;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      schema: rest,
      ...(description ? { description } : {}),
    };
  });
}

function operationId(spec: RouteSpec): string {
  const words = spec.path
    .split('/')
    .filter(Boolean)
    .map((w) => (w.startsWith(':') ? `by-${w.slice(1)}` : w));
  return [spec.method, ...words].join('-').replace(/[-_]+([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The OpenAPI 3.1 document for the routes, built from the zod schemas the routes validate with. */
export function buildOpenApi(specs: readonly RouteSpec[], prefix: string, version = '0.1.0'): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const spec of specs) {
    const problems = routeProblems(spec);
    const byStatus = new Map<number, ApiErrorCode[]>();
    for (const code of problems)
      byStatus.set(apiErrors[code].status, [...(byStatus.get(apiErrors[code].status) ?? []), code]);
    const responses: Operation['responses'] = {
      [String(spec.response.status)]: {
        description: spec.response.description,
        ...(spec.response.headers
          ? { headers: Object.fromEntries(spec.response.headers.map((h) => [h, { schema: { type: 'string' } }])) }
          : {}),
        ...(spec.response.status !== 204
          ? {
              content: { 'application/json': { schema: spec.response.schema ? jsonSchema(spec.response.schema) : {} } },
            }
          : {}),
      },
    };
    for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      responses[String(status)] = {
        description: codes.map((c) => `${c}: ${apiErrors[c].title}`).join('; '),
        content: {
          [PROBLEM_CONTENT_TYPE]: {
            schema: {
              allOf: [
                { $ref: '#/components/schemas/Problem' },
                { type: 'object', properties: { code: { enum: codes } } },
              ],
            },
          },
        },
      };
    }
    const operation: Operation = {
      operationId: operationId(spec),
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: [spec.tag],
      'x-access': accessLabel(spec.access),
      ...(spec.access === 'public' ? { security: [] } : {}),
      responses,
    };
    const params = [...parameters(spec.params, 'path'), ...parameters(spec.query, 'query')];
    if (spec.access !== 'public' && honoursIdempotencyKey(spec)) params.push(IDEMPOTENCY_KEY_PARAMETER);
    if (params.length > 0) operation.parameters = params;
    if (spec.body)
      operation.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(spec.body) } } };
    (paths[openApiPath(prefix, spec.path)] ??= {})[spec.method] = operation;
  }
  const codes = Object.keys(apiErrors) as ApiErrorCode[];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Clutch API',
      version,
      description:
        'Telematics REST API. Authenticate with `Authorization: Bearer <token>`: the admin token, or a partner API key `ck_<id>_<secret>` ' +
        '(confined to its tenant and scopes). Errors are RFC 9457 problem+json with a stable `code`. See docs/api.md.',
    },
    security: [{ bearer: [] }],
    tags: [...new Set(specs.map((s) => s.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'Admin token, or partner API key ck_<id>_<secret> with scopes',
        },
      },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail', 'code', 'instance'],
          properties: {
            type: { type: 'string', format: 'uri', examples: [problemType('VEHICLE_NOT_FOUND')] },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string', enum: codes },
            instance: { type: 'string' },
            errors: {
              type: 'array',
              description: 'VALIDATION_FAILED: one entry per invalid field',
              items: { type: 'object', properties: { pointer: { type: 'string' }, detail: { type: 'string' } } },
            },
          },
          additionalProperties: true,
        },
      },
    },
  };
}
