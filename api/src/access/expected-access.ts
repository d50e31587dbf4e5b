/**
 * The expected access table of issue 14 (read by matrix.test.ts): for every route of the OpenAPI
 * document, what each of seven principals gets on a resource of its own and on somebody else's.
 *
 * The rule for reading an answer:
 * - **deny**: 401 (no or bad credential), 403 (authenticated, not allowed: FORBIDDEN,
 *   PERMISSION_ESCALATION, ...) or 404 (a resource the caller may not know of answers exactly like a
 *   missing one: another owner's car, another shop's vehicle, session, role or user).
 * - **allow**: anything else below 500: 2xx, or a domain 4xx (400 invalid input, 409, 422) that proves
 *   the request got past authorization. The samples give vehicle routes valid input, since a caller
 *   who holds a permission only for some vehicles is decided after validation.
 * - A 5xx always fails the matrix.
 *
 * Principals: `anonymous`; `ownerA`, `ownerB` (car owners of the consumer tenant, role `owner`);
 * `staffX` (partner-admin of shop X); `techY` (technician of shop Y); `fleet` (fleet-manager of a
 * fleet tenant); `platform` (a signed-in user of the platform tenant with `platform-admin`).
 * "Own" is the principal's vehicle / tenant / user / session; "foreign" is another's (owner B's for
 * owner A, shop Y's for shop X, shop X's for shop Y and the fleet, owner A's for the platform admin).
 * Where a route has no resource (lists, catalogues, one's own account) both sides call the same.
 */
export const PRINCIPALS = ['anonymous', 'ownerA', 'ownerB', 'staffX', 'techY', 'fleet', 'platform'] as const;
export type PrincipalName = (typeof PRINCIPALS)[number];
export type Side = 'own' | 'foreign';
export type Outcome = 'allow' | 'deny';

export const outcomeOf = (status: number): Outcome => ([401, 403, 404].includes(status) ? 'deny' : 'allow');

type Cell = Record<Side, Outcome>;
export type Row = Record<PrincipalName, Cell>;

/** Allowed on both sides (a route without a resource, or one that reaches every tenant). */
const BOTH: Cell = { own: 'allow', foreign: 'allow' };
/** Allowed on one's own resource, denied on another's. */
const OWN: Cell = { own: 'allow', foreign: 'deny' };
const NONE: Cell = { own: 'deny', foreign: 'deny' };

type Signed = Exclude<PrincipalName, 'anonymous'>;
const SIGNED: readonly Signed[] = ['ownerA', 'ownerB', 'staffX', 'techY', 'fleet', 'platform'];

/** A public route: everyone gets past authorization (it may still refuse the empty input). */
const publicRoute = (): Row => ({ anonymous: BOTH, ...everyone(BOTH) });

/** A route for signed-in callers, with the given cells per principal (unnamed: `rest`). */
const signedIn = (cells: Partial<Record<Signed, Cell>>, rest: Cell = NONE): Row =>
  ({
    anonymous: NONE,
    ...Object.fromEntries(SIGNED.map((p) => [p, cells[p] ?? rest])),
  }) as Row;

function everyone(cell: Cell): Record<Signed, Cell> {
  return Object.fromEntries(SIGNED.map((p) => [p, cell])) as Record<Signed, Cell>;
}

/** Every signed-in principal reaches its own vehicle and not another's (a vehicle route of a permission all roles hold). */
const ownVehicle = (cells: Partial<Record<Signed, Cell>> = {}): Row => signedIn(cells, OWN);
/** Any signed-in caller, about their own account (no resource of anyone else's is named). */
const account = (): Row => signedIn({}, BOTH);
/** Platform administration: only the platform admin (every permission, an audited scope reaching every tenant). */
const platformOnly = (extra: Partial<Record<Signed, Cell>> = {}): Row => signedIn({ platform: BOTH, ...extra });
/**
 * A tenant's own administration (roles, grants): its partner admin, and the platform admin for the
 * platform tenant's; another tenant's role or user answers 404 like a missing one.
 */
const tenantAdmin = (): Row => signedIn({ staffX: OWN, platform: OWN });

export const EXPECTED: Record<string, Row> = {
  // Public: documents, catalogues, and the sign-in doors (which refuse the empty input with 400).
  'get /health': publicRoute(),
  'get /signals': publicRoute(),
  'get /openapi.json': publicRoute(),
  'get /.well-known/jwks.json': publicRoute(),
  'post /auth/register': publicRoute(),
  'post /auth/login': publicRoute(),
  'post /auth/logout': publicRoute(),
  'post /auth/verify-email': publicRoute(),
  'post /auth/password/forgot': publicRoute(),
  'post /auth/password/reset': publicRoute(),
  'post /auth/invitations/accept': publicRoute(),
  'post /auth/mfa/challenge': publicRoute(),
  'post /auth/mfa/verify': publicRoute(),
  'post /mobile/biometric/challenge': publicRoute(),
  'post /mobile/biometric/verify': publicRoute(),
  // Public, but its credential is the refresh token (cookie or body), not a bearer: without one, 401 for all.
  'post /sessions/refresh': { anonymous: NONE, ...everyone(NONE) },

  // One's own account, sessions and factors.
  'get /me': account(),
  'get /permissions': account(),
  'get /sessions': account(),
  'delete /sessions/:id': signedIn({}, OWN),
  'post /sessions/logout-all': account(),
  'get /auth/mfa': account(),
  'post /auth/mfa/setup': account(),
  'post /auth/mfa/disable': account(),
  'get /auth/mfa/backup-codes': account(),
  'post /mobile/biometric/register': account(),
  'get /mobile/biometric/devices': account(),
  'delete /mobile/biometric/devices/:id': account(),

  // Vehicles: a list shows only what the caller may see (checked apart); one's own vehicle, never another's.
  'get /vehicles': signedIn({}, BOTH),
  'get /vehicles/:id': ownVehicle(),
  'get /vehicles/:id/latest': ownVehicle(),
  'get /vehicles/:id/telemetry': ownVehicle(),
  'get /vehicles/:id/trips': ownVehicle(),
  'get /vehicles/:id/alerts': ownVehicle(),
  'get /vehicles/:id/data-quality': ownVehicle(),
  'get /vehicles/:id/health': ownVehicle(),
  'get /obd2/diagnostics/:vehicleId': ownVehicle(),
  'get /telematics/analytics': ownVehicle(),
  'post /ai/maintenance/predict': ownVehicle(),
  'post /ai/driving/analyze': ownVehicle(),
  // A technician holds no location:read.
  'get /telematics/history': ownVehicle({ techY: NONE }),
  'post /vehicles/:id/commands': ownVehicle(),
  'get /vehicles/:id/commands': ownVehicle(),
  // A command by id names no vehicle: owners (commands:write only on their own vehicles) are refused
  // until the service decides on the command's vehicle (docs/rbac.md, "What is left").
  'get /commands/:id': ownVehicle({ ownerA: NONE, ownerB: NONE }),
  // Shares: owners, partner admins, fleet managers and platform staff; a technician holds no vehicle-shares:*.
  'post /vehicles/:id/shares': ownVehicle({ techY: NONE }),
  'get /vehicles/:id/shares': ownVehicle({ techY: NONE }),
  'delete /vehicles/:id/shares/:shareId': ownVehicle({ techY: NONE }),

  // Roles and grants: a tenant's administration.
  'get /roles': signedIn({ staffX: BOTH, platform: BOTH }),
  'post /roles': signedIn({ staffX: BOTH, platform: BOTH }),
  'put /roles/:id': tenantAdmin(),
  'delete /roles/:id': tenantAdmin(),
  'get /roles/:id/permissions': tenantAdmin(),
  'put /roles/:id/permissions': tenantAdmin(),
  'get /users/:id/roles': tenantAdmin(),
  'post /users/:id/roles': tenantAdmin(),
  'delete /users/:id/roles': tenantAdmin(),

  // Platform administration (permissions; the platform admin's work runs audited across tenants).
  'post /tenants': platformOnly(),
  'post /devices': platformOnly(),
  'post /devices/:tenantId/:deviceId/credentials': platformOnly(),
  'delete /devices/:tenantId/:deviceId/credentials': platformOnly(),
  'post /api-keys': platformOnly(),
  'delete /api-keys/:tenantId/:keyId': platformOnly(),
  'post /users/invitations': platformOnly(),
  'post /telematics/gps': platformOnly(),
  'post /dead-letters/:id/replay': platformOnly(),
  'post /ai/models/deploy': platformOnly(),
  'post /ai/models/:id/retrain': platformOnly(),
  'get /ai/jobs/:id': platformOnly(),
  // Reads a partner admin also holds: its own organisation's keys and dead letters (naming another is
  // refused), the model registry, and its organisation's audit trail (row-level security).
  'get /api-keys': platformOnly({ staffX: OWN }),
  'get /dead-letters': platformOnly({ staffX: OWN }),
  'get /ai/models': platformOnly({ staffX: BOTH }),
  'get /ai/models/:id/performance': platformOnly({ staffX: BOTH }),
  'get /security/reports': platformOnly({ staffX: BOTH }),
};
