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

/** How far scoring has learned the vehicle's own normal, as `GET /api/vehicles/:id/health` tells it (`calibration`). */
export interface VehicleCalibration {
  status: 'calibrating' | 'calibrated';
  runningHours: number;
  hoursNeeded: number;
  trips: number;
  tripsNeeded: number;
}

export interface SignalInfo {
  key: string;
  name: string;
  unit: string;
}

/** A signal a vehicle has sent, as `GET /api/vehicles/:id/signals` lists it. */
export interface VehicleSignal {
  signal: string;
  name: string;
  unit: string;
  min: number;
  max: number;
  /** The OBDb vehicle profile of a vehicle-specific signal; absent for SAE J1979 and adapter signals. */
  profile?: string;
  /** An enumeration: OBDb's description of each code (the value is the code). */
  values?: Record<string, string>;
  /** A two-state value (0 or 1) in OBDb's wording. */
  states?: 'offon' | 'onoff' | 'noyes';
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

/** The signed-in user, as `GET /api/me` returns it (checked through `Me`). */
interface UserView {
  id: string;
  tenantId: string;
  email: string;
  displayName: string;
  emailVerified: boolean;
  locale: string;
  timeZone: string;
}

/**
 * Who is calling (`GET /api/me`): a signed-in user, or (user and session null) the open demo's anonymous
 * administrator, an API key or the admin token. `openMode`: the API lets callers without credentials in
 * as administrators (the `npm start` demo): the pages show a banner.
 */
export interface Me {
  user: UserView | null;
  session: { id: string; mfaAt: string | null } | null;
  permissions: string[];
  openMode: boolean;
}

/** One signed-in device, as `GET /api/sessions` lists it. */
export interface UserSession {
  id: string;
  /** The session of this page. */
  current: boolean;
  client: 'browser' | 'mobile';
  deviceName: string | null;
  /** Browser and system from the user agent ("Chrome on Linux"), when it says. */
  device: string | null;
  ip: string | null;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

/** An RFC 9457 problem the API answered with: its code, title and detail, and any extension members. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    /** The API's title (in the language the request asked for); the page words it from `problem.<code>.title`. */
    readonly title: string = '',
    /** Extension members: `reason` of PASSWORD_REJECTED, `retryAfterSeconds`, `methods`, ... */
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(detail);
  }
}

/** The readable CSRF cookie a browser session carries (docs/identity.md): echoed in `X-CSRF-Token`. */
export function csrfToken(): string | undefined {
  for (const part of document.cookie.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === 'clutch_csrf') return decodeURIComponent(part.slice(at + 1).trim());
  }
  return undefined;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Requests whose 401 means "wrong credentials" or "no session", never "the access token expired". */
const NO_REFRESH = ['/api/auth/', '/api/sessions/refresh'];

let refreshing: Promise<boolean> | null = null;

/**
 * Exchanges the refresh cookie for a new access cookie, once for however many requests got a 401 at
 * the same time (they all wait for the one refresh). False when there is no session to refresh: no
 * CSRF cookie (it lives exactly as long as the session's cookies), or the API refused (it then
 * cleared the cookies).
 */
export function refreshSession(): Promise<boolean> {
  const csrf = csrfToken();
  if (csrf === undefined) return Promise.resolve(false);
  refreshing ??= fetch('/api/sessions/refresh', {
    method: 'POST',
    headers: { accept: 'application/json', 'x-csrf-token': csrf, 'x-requested-with': 'clutch-web' },
    credentials: 'same-origin',
  })
    .then((res) => res.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

async function problemOf(res: Response): Promise<ApiProblem> {
  const body: unknown = await res.json().catch(() => undefined);
  const p = (body ?? {}) as Record<string, unknown>;
  const { code, detail, title, status: _status, type: _type, instance: _instance, ...extensions } = p;
  return new ApiProblem(
    res.status,
    typeof code === 'string' ? code : 'UNKNOWN',
    typeof detail === 'string' ? detail : '',
    typeof title === 'string' ? title : '',
    extensions,
  );
}

/**
 * The pages' one way to call the API: JSON in and out, the CSRF header on state-changing requests of
 * a browser session, and, when the access cookie has expired (401), one refresh of the session and
 * one retry. Problem answers become ApiProblem; 204 answers resolve to undefined.
 */
export async function apiRequest<T>(method: string, path: string, body?: unknown): Promise<T> {
  const send = (): Promise<Response> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (STATE_CHANGING.has(method)) {
      const csrf = csrfToken();
      if (csrf !== undefined) headers['x-csrf-token'] = csrf;
      // A body-less write must show it is no cross-site form post (api/src/http/csrf.ts).
      if (body === undefined) headers['x-requested-with'] = 'clutch-web';
    }
    return fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  };
  let res = await send();
  if (res.status === 401 && !NO_REFRESH.some((p) => path.startsWith(p)) && (await refreshSession())) res = await send();
  if (!res.ok) throw await problemOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** GET a JSON resource; problem+json answers become ApiProblem with the server's detail. */
export function getJson<T>(path: string): Promise<T> {
  return apiRequest<T>('GET', path);
}

export function describeVehicle(v: Vehicle): string {
  return [v.modelYear, v.make, v.model].filter((x) => x !== null && x !== '').join(' ');
}

/** What went wrong, for an error line: the API's own detail (its words), else ours. */
export function problemDetail(err: unknown, i18n: Translator): string {
  if (err instanceof ApiProblem) return err.message || i18n.t('error.httpStatus', { status: err.status });
  return err instanceof Error && err.message ? err.message : i18n.t('error.unknown');
}
