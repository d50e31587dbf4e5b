import type Router from '@koa/router';
import type { Database } from '@clutch/db';
import type { PolicyStore } from '@clutch/identity';
import type { Context, Middleware } from 'koa';
import type { z } from 'zod';
import { authorize, permissionOf, type Access, type Principal } from '../auth/principal.js';
import { namedVehicle, requestPolicy, requireOnNamedVehicle, type RequestPolicy } from '../auth/policy.js';
import { actorOf, Scope, type AuditLog, type SystemUse } from '../auth/scope.js';
import type { ApiErrorCode } from '../errors.js';
import { DEFAULT_BODY_LIMITS, readJsonBody, type BodyLimits } from './body.js';
import type { Idempotency } from './idempotency.js';
import type { RateLimits, RequestAuthenticator } from './rate-limit.js';
import { parseInput } from './validate.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteResponse {
  status: number;
  description: string;
  /** Body schema for the document; omitted, the response is described in words only. */
  schema?: z.ZodType;
  /** Response headers worth documenting (Location, ...). */
  headers?: readonly string[];
}

/** Everything the OpenAPI document needs to know about a route; the handler is kept apart. */
export interface RouteSpec {
  method: HttpMethod;
  /** Koa path below the API prefix, e.g. `/vehicles/:id`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  access: Access;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response: RouteResponse;
  /** Domain problems the route can answer with; auth, validation and INTERNAL are added automatically. */
  errors?: readonly ApiErrorCode[];
  /**
   * Whether the route honours `Idempotency-Key` (a repeated request gets the stored response). Every
   * POST does unless it says `false` (a pure computation, which is safe to repeat anyway).
   * `'in-handler'`: a raw-body route (an upload) whose bytes are read by the handler only after its
   * own checks; the handler calls `idempotently` with what fingerprints the bytes once it has them.
   */
  idempotent?: boolean | 'in-handler';
}

/** POSTs create or move something: they honour Idempotency-Key unless declared otherwise. */
export const honoursIdempotencyKey = (spec: Pick<RouteSpec, 'method' | 'idempotent'>): boolean =>
  spec.idempotent === undefined ? spec.method === 'post' : spec.idempotent !== false;

export interface RouteRequest<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  /** Where this caller's SQL runs (tenant-confined for partners); `scope.audited(...)` for administration. */
  scope: Scope;
  /** The policy function for this caller: services ask it per resource (own vehicle, shared vehicle). */
  policy: RequestPolicy;
  /**
   * Administration by this caller (role changes, grants, shares): an audited system scope with the
   * caller as actor and the request's address. For administrators as `scope.audited`; for a user
   * only once the policy allowed the work (the service asks first). Partner keys do not administer.
   */
  administer(use: Omit<SystemUse, 'actor' | 'ip'>): Scope;
  /** For headers (Location) or a status other than the documented one. */
  ctx: Context;
  /**
   * Routes declared `idempotent: 'in-handler'`: runs `work` at most once per caller and
   * Idempotency-Key, with `fingerprint` (e.g. the uploaded bytes' digest) in the request's
   * fingerprint. Answers work's result, or undefined when the stored response was replayed onto ctx
   * (the handler then returns undefined). Elsewhere it just runs `work`.
   */
  idempotently<T>(fingerprint: unknown, work: () => Promise<T>): Promise<T | undefined>;
}

export interface RouteDefinition<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> extends Omit<
  RouteSpec,
  'params' | 'query' | 'body' | 'access'
> {
  access: Exclude<Access, 'public'>;
  params?: P;
  query?: Q;
  body?: B;
  /** Returns the response body (undefined for none); the status defaults to `response.status`. */
  handle(request: RouteRequest<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>;
}

/**
 * A route anyone may call that still takes typed input (sign-up, sign-in, password reset, refresh):
 * declared with zod schemas like the others, so it is validated the same way and documented in the
 * OpenAPI document. Never idempotent (there is no caller to key a stored response to, and the
 * answers carry one-time tokens that must not be stored).
 */
export interface PublicRouteDefinition<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> extends Omit<
  RouteSpec,
  'params' | 'query' | 'body' | 'access' | 'idempotent'
> {
  params?: P;
  query?: Q;
  body?: B;
  handle(request: PublicRouteRequest<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>;
}

export interface PublicRouteRequest<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /**
   * Who is calling when the request carries a valid credential (a signed-in user logging out);
   * undefined for anonymous callers and for credentials that do not check out.
   */
  caller(): Promise<Principal | undefined>;
  ctx: Context;
}

/** What the route wrapper needs besides the routes: who is calling, and how much they may. */
export interface RouterDeps {
  db: Database;
  /** Resolves `Authorization` (failed tokens counted against the address). */
  authenticate: RequestAuthenticator;
  limits: Pick<RateLimits, 'principal'>;
  body?: BodyLimits;
  /** Stores and replays responses of idempotent routes; absent, Idempotency-Key is ignored. */
  idempotency?: Idempotency;
  /** Where system scopes (administration) record their use. */
  audit: AuditLog;
  /** The policy function's snapshot and users' grants (identity/src/rbac): authorises every permission route. */
  policy: PolicyStore;
}

/**
 * The API's route table. Each route is declared once, with its access rule and zod schemas: the
 * wrapper authenticates, counts the request against the caller's rate limit, authorises, and only then
 * reads and parses the body and validates the input (so an anonymous caller costs no parsing and
 * learns nothing from validation errors); the same declarations feed the OpenAPI document.
 */
export class ApiRouter {
  readonly specs: RouteSpec[] = [];

  constructor(
    readonly koa: Router,
    private readonly deps: RouterDeps,
  ) {}

  /** The caller of a request; undefined for an anonymous one where tokens are required (public routes). */
  async identify(ctx: Context): Promise<Principal | undefined> {
    const authorization = ctx.get('Authorization') || undefined;
    if (authorization === undefined) return this.deps.authenticate(undefined, ctx.ip).catch(() => undefined);
    return this.deps.authenticate(authorization, ctx.ip);
  }

  route<
    P extends z.ZodType = z.ZodUndefined,
    Q extends z.ZodType = z.ZodUndefined,
    B extends z.ZodType = z.ZodUndefined,
  >(definition: RouteDefinition<P, Q, B>): void {
    const { handle, ...spec } = definition;
    this.specs.push(spec);
    const inHandler = spec.idempotent === 'in-handler';
    const idempotent = honoursIdempotencyKey(spec) && !inHandler;
    this.koa[spec.method](spec.path, async (ctx) => {
      // Tenant data (and the problems about it) must not sit in shared or browser caches.
      ctx.set('Cache-Control', 'no-store');
      const principal = await this.deps.authenticate(ctx.get('Authorization') || undefined, ctx.ip);
      await this.deps.limits.principal(ctx, principal);
      const authorized = await authorize(principal, spec.access, this.deps.policy);
      // Held only for some resources, and the service does not decide per resource: decide here on
      // the vehicle the request names (once the input is valid).
      const decideHere =
        authorized === 'conditional' &&
        !(typeof spec.access === 'object' && 'permission' in spec.access && spec.access.perResource === 'service');
      const raw = spec.body ? await readJsonBody(ctx, this.deps.body ?? DEFAULT_BODY_LIMITS) : undefined;
      const run = async (): Promise<void> => {
        const params = spec.params ? parseInput(spec.params, ctx.params, 'params') : undefined;
        const query = spec.query ? parseInput(spec.query, ctx.query, 'query') : undefined;
        const body = spec.body ? parseInput(spec.body, raw, 'body') : undefined;
        const scope = Scope.for(this.deps.db, principal, this.deps.audit);
        const policy = requestPolicy(this.deps.policy, principal);
        if (decideHere)
          await requireOnNamedVehicle(
            policy,
            scope,
            permissionOf(spec.access)!,
            namedVehicle(spec.path, params, query, body),
          );
        ctx.status = spec.response.status;
        const result = await handle({
          params: params as z.output<P>,
          query: query as z.output<Q>,
          body: body as z.output<B>,
          principal,
          scope,
          policy,
          administer: (use) =>
            principal.kind === 'user'
              ? Scope.system(this.deps.db, { ...use, actor: actorOf(principal), ip: ctx.ip }, this.deps.audit)
              : scope.audited({ ...use, ip: ctx.ip }),
          ctx,
          idempotently: async <T>(fingerprint: unknown, work: () => Promise<T>): Promise<T | undefined> => {
            const keyed = this.deps.idempotency;
            if (!inHandler || !keyed) return work();
            let result: T | undefined;
            await keyed(ctx, principal, fingerprint, async () => {
              result = await work();
              // What the stored response captures: the body as the router would set it.
              if (result !== undefined && ctx.status !== 204) ctx.body = result;
            });
            return result;
          },
        });
        if (result !== undefined && ctx.status !== 204) ctx.body = result;
      };
      // Validation runs inside: a 400 is a final outcome the draft says to replay, like any 4xx.
      if (idempotent && this.deps.idempotency) await this.deps.idempotency(ctx, principal, raw, run);
      else await run();
    });
  }

  /** A public route with schemas (see PublicRouteDefinition): no authentication, the body parsed and validated. */
  routePublic<
    P extends z.ZodType = z.ZodUndefined,
    Q extends z.ZodType = z.ZodUndefined,
    B extends z.ZodType = z.ZodUndefined,
  >(definition: PublicRouteDefinition<P, Q, B>): void {
    const { handle, ...spec } = definition;
    this.specs.push({ ...spec, access: 'public', idempotent: false });
    this.koa[spec.method](spec.path, async (ctx) => {
      // Answers carry tokens and account facts: never cached.
      ctx.set('Cache-Control', 'no-store');
      const raw = spec.body ? await readJsonBody(ctx, this.deps.body ?? DEFAULT_BODY_LIMITS) : undefined;
      const params = spec.params ? parseInput(spec.params, ctx.params, 'params') : undefined;
      const query = spec.query ? parseInput(spec.query, ctx.query, 'query') : undefined;
      const body = spec.body ? parseInput(spec.body, raw, 'body') : undefined;
      ctx.status = spec.response.status;
      const result = await handle({
        params: params as z.output<P>,
        query: query as z.output<Q>,
        body: body as z.output<B>,
        caller: () => this.identify(ctx).catch(() => undefined),
        ctx,
      });
      if (result !== undefined && ctx.status !== 204) ctx.body = result;
    });
  }

  /** A route anyone may call (health, catalogue, the document itself); the handler is plain Koa. */
  publicRoute(spec: Omit<RouteSpec, 'access'>, handler: Middleware): void {
    this.specs.push({ ...spec, access: 'public' });
    this.koa[spec.method](spec.path, handler);
  }
}
