import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { apiError } from '../errors.js';

/** Names every server answers to: a browser on the same machine reaches it under one of these. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** Bind addresses that say "every interface" rather than name a host a browser would use. */
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

/** `Example.com:3000` -> `example.com`, `[::1]:3000` -> `[::1]`; undefined when there is no name. */
export function hostName(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = header.trim().toLowerCase();
  if (value === '') return undefined;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end > 0 ? value.slice(0, end + 1) : undefined;
  }
  const colon = value.indexOf(':');
  return colon >= 0 ? value.slice(0, colon) : value;
}

/**
 * The Host check against DNS rebinding: a page on `evil.example` that re-points its name at
 * 127.0.0.1 reaches this server with `Host: evil.example`, which no list here contains. Ports are not
 * compared (the attacker controls the name, not the port), so `localhost:3001` behind Docker passes.
 * `*` in the list turns the check off (a proxy in front that checks Host itself).
 */
export function hostAllowList(
  extra: readonly string[],
  bindHost?: string,
): (hostHeader: string | undefined) => boolean {
  const names = new Set<string>(LOOPBACK_HOSTS);
  const bind =
    bindHost === undefined
      ? undefined
      : bindHost.includes(':') && !bindHost.startsWith('[')
        ? `[${bindHost}]`
        : bindHost;
  if (bind !== undefined && !WILDCARDS.has(bind)) names.add(bind.toLowerCase());
  for (const entry of extra) {
    const name = entry === '*' ? '*' : hostName(entry);
    if (name) names.add(name);
  }
  if (names.has('*')) return () => true;
  return (hostHeader) => {
    const name = hostName(hostHeader);
    return name !== undefined && names.has(name);
  };
}

/** Koa side of the Host check: every request, API and static files alike, in every mode. */
export function requireAllowedHost(allowed: (hostHeader: string | undefined) => boolean): Middleware {
  return async (ctx, next) => {
    // The raw header, not ctx.host: with a trusted proxy Koa would prefer X-Forwarded-Host, which the proxy set.
    const host = ctx.app.proxy ? ctx.host : ctx.get('Host');
    if (!allowed(host))
      throw apiError(
        'HOST_NOT_ALLOWED',
        `This server does not answer for host ${JSON.stringify(host)}; see --allowed-hosts`,
      );
    return next();
  };
}

/**
 * Socket.io side (its `allowRequest` hook, which sees every polling request and WebSocket upgrade
 * before Koa would): the Host must be allowed, and a browser's Origin, when sent, must name the same
 * host and port, so no other site's page can open a socket that rides on this origin.
 */
export function socketRequestAllowed(
  allowed: (hostHeader: string | undefined) => boolean,
  req: IncomingMessage,
): boolean {
  const host = req.headers.host;
  if (!allowed(host)) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host.toLowerCase() === (host ?? '').toLowerCase();
  } catch {
    return false;
  }
}
