import type { Translator } from '@clutch/i18n';

/**
 * Shapes the API answers with (kept here because the browser build cannot import Node packages).
 * api/src/openapi/browser-types.test.ts holds every exported interface against `/api/openapi.json`
 * (fields, JSON types, null, requiredness, enum values): a new interface needs its route there.
 */
export interface Vehicle {
  id: string;
  tenantId: string;
  name: string;
  vin: string | null;
  make: string | null;
  model: string | null;
  modelYear: number | null;
  deviceIds: string[];
  /** Any of its devices has a live broker session. */
  online: boolean;
  lastSeenAt: string | null;
}

export type Severity = 'info' | 'warning' | 'critical';

/** An alert raised by scoring in ingest, as `GET /api/vehicles/:id/alerts` lists it. */
export interface StoredAlert {
  id: string;
  time: string;
  kind: string;
  severity: Severity;
  title: string;
  explanation: string;
  signals: string[];
}

/** The same alert as the live `alert` event carries it. */
export interface LiveAlert extends Omit<StoredAlert, 'time'> {
  at: string;
}

export interface TroubleCode {
  code: string;
  kind: 'stored' | 'pending' | 'permanent';
  description: string | null;
  system: string;
  milRelevant: boolean;
  firstSeen: string;
}

export interface Diagnostics {
  reportedAt: string | null;
  milOn: boolean;
  current: TroubleCode[];
}

export interface SignalInfo {
  key: string;
  name: string;
  unit: string;
}

export interface Reading {
  signal: string;
  time: string;
  value: number;
}

export interface TelemetrySeries {
  vehicleId: string;
  signal: string;
  unit: string;
  points: { time: string; value: number }[];
}

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** GET a JSON resource; problem+json answers become ApiProblem with the server's detail. */
export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const p = (body ?? {}) as { code?: string; detail?: string };
    throw new ApiProblem(res.status, p.code ?? 'UNKNOWN', p.detail ?? '');
  }
  return body as T;
}

export function describeVehicle(v: Vehicle): string {
  return [v.modelYear, v.make, v.model].filter((x) => x !== null && x !== '').join(' ');
}

/** What went wrong, for an error line: the API's own detail (its words), else ours. */
export function problemDetail(err: unknown, i18n: Translator): string {
  if (err instanceof ApiProblem) return err.message || i18n.t('error.httpStatus', { status: err.status });
  return err instanceof Error && err.message ? err.message : i18n.t('error.unknown');
}
