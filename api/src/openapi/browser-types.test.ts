import { createInProcessBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../server.js';
import type { OpenApiDocument } from './document.js';

/**
 * The browser keeps its own copy of the API's types (web/browser/api.ts: the browser build has no
 * zod). This test reads those interfaces with the TypeScript checker and holds each against the
 * response schema of the route the pages read it from, in `/api/openapi.json` of a running API:
 * every field the pages declare must be sent, with a JSON type (and enum values, and null) the
 * declaration accepts. A server change that would break the pages fails here.
 */

const BROWSER_TYPES = fileURLToPath(new URL('../../../web/browser/api.ts', import.meta.url));

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
};

/** Where a browser type comes from: a GET route's 200 body, then a path inside it (`[]` = array items, a number = union variant). */
interface Source {
  route: string;
  at: (string | number)[];
}

const SOURCES: Record<string, Source[] | { notRest: string }> = {
  Vehicle: [
    { route: '/api/vehicles/{id}', at: [] },
    { route: '/api/vehicles', at: ['vehicles', '[]'] },
  ],
  StoredAlert: [{ route: '/api/vehicles/{id}/alerts', at: ['alerts', '[]'] }],
  LiveAlert: { notRest: 'the Socket.io `alert` event (contracts LiveEvent), not a REST body' },
  Diagnostics: [{ route: '/api/obd2/diagnostics/{vehicleId}', at: [] }],
  VehicleCalibration: [{ route: '/api/vehicles/{id}/health', at: ['calibration'] }],
  TroubleCode: [{ route: '/api/obd2/diagnostics/{vehicleId}', at: ['current', '[]'] }],
  SignalInfo: [{ route: '/api/signals', at: ['signals', '[]'] }],
  VehicleSignal: [{ route: '/api/vehicles/{id}/signals', at: ['signals', '[]'] }],
  Reading: [{ route: '/api/vehicles/{id}/latest', at: ['readings', '[]'] }],
  // The raw series (no `bucket`), the first variant of the route's union.
  TelemetrySeries: [{ route: '/api/vehicles/{id}/telemetry', at: [0] }],
  Me: [{ route: '/api/me', at: [] }],
  UserSession: [{ route: '/api/sessions', at: ['sessions', '[]'] }],
};

type Kind = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object' | 'any';

function schemaKinds(s: JsonSchema): Set<Kind> {
  const variants = s.anyOf ?? s.oneOf;
  if (variants) return new Set(variants.flatMap((v) => [...schemaKinds(v)]));
  if (s.const !== undefined) return new Set([jsonKind(s.const)]);
  if (s.enum) return new Set(s.enum.map(jsonKind));
  if (s.type === undefined) return new Set(['any']);
  return new Set((Array.isArray(s.type) ? s.type : [s.type]).map((t) => (t === 'integer' ? 'number' : (t as Kind))));
}

function jsonKind(value: unknown): Kind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as Kind;
}

/** The schema's string values when it is an enum (or a union of constants); undefined for any string. */
function schemaEnum(s: JsonSchema): unknown[] | undefined {
  const variants = s.anyOf ?? s.oneOf;
  if (variants) {
    const parts = variants.filter((v) => !schemaKinds(v).has('null')).map(schemaEnum);
    return parts.every((p) => p !== undefined) ? parts.flat() : undefined;
  }
  if (s.const !== undefined) return [s.const];
  return s.enum;
}

/** The non-null variant of a nullable object or array schema. */
function nonNull(s: JsonSchema): JsonSchema {
  const variants = s.anyOf ?? s.oneOf;
  if (!variants) return s;
  const rest = variants.filter((v) => !(v.type === 'null'));
  return rest.length === 1 ? rest[0]! : s;
}

function at(schema: JsonSchema, steps: readonly (string | number)[]): JsonSchema {
  let s = schema;
  for (const step of steps) {
    const next =
      typeof step === 'number'
        ? (s.anyOf ?? s.oneOf)?.[step]
        : step === '[]'
          ? nonNull(s).items
          : nonNull(s).properties?.[step];
    if (!next) throw new Error(`no ${String(step)} in ${JSON.stringify(s).slice(0, 200)}`);
    s = next;
  }
  return s;
}

function loadBrowserTypes(): { checker: ts.TypeChecker; interfaces: Map<string, ts.Type> } {
  const program = ts.createProgram([BROWSER_TYPES], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    noResolve: true,
  });
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(BROWSER_TYPES);
  if (!file) throw new Error(`cannot read ${BROWSER_TYPES}`);
  const interfaces = new Map<string, ts.Type>();
  for (const statement of file.statements) {
    if (
      ts.isInterfaceDeclaration(statement) &&
      statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
    ) {
      interfaces.set(statement.name.text, checker.getTypeAtLocation(statement.name));
    }
  }
  return { checker, interfaces };
}

/** What a TypeScript type accepts, by JSON kind, with its string literals when it is a literal union. */
function tsKinds(
  checker: ts.TypeChecker,
  type: ts.Type,
): { kinds: Set<Kind>; literals?: Set<string>; element?: ts.Type; object?: ts.Type } {
  const kinds = new Set<Kind>();
  const literals = new Set<string>();
  let plainString = false;
  let element: ts.Type | undefined;
  let object: ts.Type | undefined;
  for (const t of type.isUnion() ? type.types : [type]) {
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) kinds.add('any');
    else if (t.flags & ts.TypeFlags.Null) kinds.add('null');
    else if (t.isStringLiteral()) {
      kinds.add('string');
      literals.add(t.value);
    } else if (t.flags & ts.TypeFlags.String) {
      kinds.add('string');
      plainString = true;
    } else if (t.flags & ts.TypeFlags.NumberLike) kinds.add('number');
    else if (t.flags & ts.TypeFlags.BooleanLike) kinds.add('boolean');
    else if (checker.isArrayType(t)) {
      kinds.add('array');
      element = checker.getTypeArguments(t as ts.TypeReference)[0];
    } else if (t.flags & ts.TypeFlags.Object) {
      kinds.add('object');
      object = t;
    }
  }
  return {
    kinds,
    ...(literals.size > 0 && !plainString ? { literals } : {}),
    ...(element ? { element } : {}),
    ...(object ? { object } : {}),
  };
}

/** Why the server's schema could break code written against the browser's type; empty when it cannot. */
function mismatches(checker: ts.TypeChecker, type: ts.Type, schema: JsonSchema, where: string): string[] {
  const problems: string[] = [];
  const expected = tsKinds(checker, type);
  const sent = schemaKinds(schema);
  if (!expected.kinds.has('any')) {
    for (const kind of sent) {
      if (!expected.kinds.has(kind))
        problems.push(
          `${where}: the server may send ${kind === 'any' ? 'anything' : kind}, the browser expects ${[...expected.kinds].join(' | ')}`,
        );
    }
  }
  if (expected.literals) {
    const values = schemaEnum(schema);
    if (!values)
      problems.push(
        `${where}: the server sends any string, the browser expects one of ${[...expected.literals].join(', ')}`,
      );
    else
      for (const v of values)
        if (!expected.literals.has(String(v)))
          problems.push(`${where}: the server may send "${String(v)}", unknown to the browser`);
  }
  if (expected.element && sent.has('array')) {
    const items = nonNull(schema).items;
    if (items) problems.push(...mismatches(checker, expected.element, items, `${where}[]`));
  }
  if (expected.object && sent.has('object'))
    problems.push(...objectMismatches(checker, expected.object, nonNull(schema), where));
  return problems;
}

function objectMismatches(checker: ts.TypeChecker, type: ts.Type, schema: JsonSchema, where: string): string[] {
  const problems: string[] = [];
  const required = new Set(schema.required ?? []);
  for (const prop of checker.getPropertiesOfType(type)) {
    const name = prop.getName();
    const field = schema.properties?.[name];
    if (!field) {
      problems.push(`${where}.${name}: not in the server's response`);
      continue;
    }
    const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
    if (!optional && !required.has(name))
      problems.push(`${where}.${name}: required by the browser, optional on the server`);
    const declaration = prop.valueDeclaration ?? prop.declarations?.[0];
    if (!declaration) continue;
    // An optional field's `undefined` is no JSON kind: tsKinds ignores it.
    problems.push(
      ...mismatches(checker, checker.getTypeOfSymbolAtLocation(prop, declaration), field, `${where}.${name}`),
    );
  }
  return problems;
}

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
  });
  const res = await fetch(`${server.url}/api/openapi.json`);
  expect(res.status).toBe(200);
  document = (await res.json()) as OpenApiDocument;
});

afterAll(async () => {
  await server?.close();
});

function responseSchema(route: string): JsonSchema {
  const operation = document.paths[route]?.get as
    { responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }> } | undefined;
  const schema = operation?.responses['200']?.content?.['application/json']?.schema;
  if (!schema || Object.keys(schema).length === 0) throw new Error(`GET ${route} documents no response schema`);
  return schema;
}

describe("the browser's API types (web/browser/api.ts) against /api/openapi.json", () => {
  const { checker, interfaces } = loadBrowserTypes();

  it('knows where every exported interface of the browser comes from', () => {
    expect([...interfaces.keys()].sort()).toEqual(Object.keys(SOURCES).sort());
  });

  it.each(Object.entries(SOURCES).filter((e): e is [string, Source[]] => Array.isArray(e[1])))(
    '%s matches what the server sends',
    (name, sources) => {
      const type = interfaces.get(name)!;
      for (const source of sources) {
        const where = `${name} (GET ${source.route} ${source.at.join('.')})`;
        expect(mismatches(checker, type, at(responseSchema(source.route), source.at), where)).toEqual([]);
      }
    },
  );

  it('catches a server change that would break the pages (planted: a nullable name, a missing field, a new enum value)', () => {
    const vehicle = structuredClone(at(responseSchema('/api/vehicles/{id}'), []));
    vehicle.properties!.name = { anyOf: [{ type: 'string' }, { type: 'null' }] };
    delete vehicle.properties!.online;
    vehicle.required = vehicle.required!.filter((r) => r !== 'deviceIds');
    expect(mismatches(checker, interfaces.get('Vehicle')!, vehicle, 'Vehicle')).toEqual([
      'Vehicle.name: the server may send null, the browser expects string',
      'Vehicle.deviceIds: required by the browser, optional on the server',
      "Vehicle.online: not in the server's response",
    ]);
    const code = structuredClone(at(responseSchema('/api/obd2/diagnostics/{vehicleId}'), ['current', '[]']));
    code.properties!.kind = { type: 'string', enum: ['stored', 'pending', 'permanent', 'historic'] };
    expect(mismatches(checker, interfaces.get('TroubleCode')!, code, 'TroubleCode')).toEqual([
      'TroubleCode.kind: the server may send "historic", unknown to the browser',
    ]);
  });
});
