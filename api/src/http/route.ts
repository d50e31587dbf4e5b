import type Router from '@koa/router';
import type { Database } from '@clutch/db';
import type { Context, Middleware } from 'koa';
import type { z } from 'zod';
import type { Authenticator } from '../auth/authenticate.js';
import { authorize, Scope, type Access, type Principal } from '../auth/principal.js';
import type { ApiErrorCode } from '../errors.js';
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
}

export interface RouteRequest<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  /** Where this caller's SQL runs (tenant-confined for partners). */
  scope: Scope;
  /** For headers (Location) or a status other than the documented one. */
  ctx: Context;
}

export interface RouteDefinition<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>
  extends Omit<RouteSpec, 'params' | 'query' | 'body' | 'access'> {
  access: Exclude<Access, 'public'>;
  params?: P;
  query?: Q;
  body?: B;
  /** Returns the response body (undefined for none); the status defaults to `response.status`. */
  handle(request: RouteRequest<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>;
}

/**
 * The API's route table. Each route is declared once, with its access rule and zod schemas: the
 * wrapper authenticates, authorises and parses in that order (so an anonymous caller learns nothing
 * from validation errors), and the same declarations feed the OpenAPI document.
 */
export class ApiRouter {
  readonly specs: RouteSpec[] = [];

  constructor(
    readonly koa: Router,
    private readonly db: Database,
    private readonly authenticate: Authenticator,
  ) {}

  route<P extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodUndefined, B extends z.ZodType = z.ZodUndefined>(
    definition: RouteDefinition<P, Q, B>,
  ): void {
    const { handle, ...spec } = definition;
    this.specs.push(spec);
    this.koa[spec.method](spec.path, async (ctx) => {
      const principal = await this.authenticate(ctx.get('Authorization') || undefined);
      authorize(principal, spec.access);
      const params = spec.params ? parseInput(spec.params, ctx.params, 'params') : undefined;
      const query = spec.query ? parseInput(spec.query, ctx.query, 'query') : undefined;
      const body = spec.body ? parseInput(spec.body, (ctx.request as { body?: unknown }).body, 'body') : undefined;
      ctx.status = spec.response.status;
      const result = await handle({
        params: params as z.output<P>,
        query: query as z.output<Q>,
        body: body as z.output<B>,
        principal,
        scope: Scope.for(this.db, principal),
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
