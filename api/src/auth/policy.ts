import {
  decide,
  EMPTY_SNAPSHOT,
  type Decision,
  type PolicyStore,
  type Resource,
  type Subject,
  type SubjectRef,
} from '@clutch/identity';
import { apiError } from '../errors.js';
import { vehicleNotFound } from '../shared/vehicle-guard.js';
import { vehicleResource } from '../vehicles/access.js';
import { subjectRefOf, type Principal } from './principal.js';
import type { Scope } from './scope.js';

/** The policy function for one request's caller: what services ask before they act on a resource. */
export interface RequestPolicy {
  readonly store: PolicyStore;
  /** The caller as the policy sees it. */
  readonly ref: SubjectRef;
  /** The caller with their grants (loaded once per request, cached by the store). */
  subject(): Promise<Subject>;
  decide(permission: string, resource?: Resource): Promise<Decision>;
  /**
   * Throws unless the caller may: FORBIDDEN, or what `notFound` makes when the caller must not learn
   * that the resource exists (another owner's vehicle answers exactly like a missing one).
   */
  require(permission: string, resource?: Resource, notFound?: () => Error): Promise<Decision>;
}

export function requestPolicy(store: PolicyStore, principal: Principal): RequestPolicy {
  const ref = subjectRefOf(principal);
  let subject: Promise<Subject> | undefined;
  const load = (): Promise<Subject> => (subject ??= store.subject(ref));
  return {
    store,
    ref,
    subject: load,
    async decide(permission, resource) {
      // Keys and administrators hold no roles: no snapshot to load for them.
      const [snapshot, who] = await Promise.all([ref.kind === 'user' ? store.snapshot() : EMPTY_SNAPSHOT, load()]);
      return decide(snapshot, who, permission, resource, store.now());
    },
    async require(permission, resource, notFound) {
      const decision = await this.decide(permission, resource);
      if (decision.allow) return decision;
      if (notFound) throw notFound();
      throw apiError('FORBIDDEN', `This needs the ${permission} permission here (${decision.reason})`, {
        requiredPermission: permission,
      });
    },
  };
}

/** The vehicle a request names, where the routes put it: `/vehicles/:id...`, `:vehicleId`, or `vehicleId` in query or body. */
export function namedVehicle(path: string, params: unknown, query: unknown, body: unknown): string | undefined {
  const field = (o: unknown, key: string): string | undefined => {
    const v = typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined;
    return typeof v === 'string' ? v : undefined;
  };
  if (path === '/vehicles/:id' || path.startsWith('/vehicles/:id/')) return field(params, 'id');
  return field(params, 'vehicleId') ?? field(query, 'vehicleId') ?? field(body, 'vehicleId');
}

/**
 * For a caller who holds a route's permission only for some resources: the policy decides on the
 * vehicle the request names (read under the caller's own row-level security). Another owner's
 * vehicle, or one the condition does not cover, answers exactly like a missing one; a request that
 * names no vehicle is refused, since nothing could be checked.
 */
export async function requireOnNamedVehicle(
  policy: RequestPolicy,
  scope: Scope,
  permission: string,
  vehicleId: string | undefined,
): Promise<void> {
  if (vehicleId === undefined)
    throw apiError('FORBIDDEN', `You hold ${permission} only for some vehicles, and this request names none`, {
      requiredPermission: permission,
    });
  const resource = await scope.run((q) => vehicleResource(q, vehicleId));
  if (!resource || !(await policy.decide(permission, resource)).allow) throw vehicleNotFound(vehicleId);
}
