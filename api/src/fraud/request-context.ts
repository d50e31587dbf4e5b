import { BlockList, isIP } from 'node:net';
import type { Context } from 'koa';
import type { RiskInput } from './types.js';

/** What a request tells the inline risk check about where it came from (docs/fraud.md). */
export type RiskRequestContext = Pick<RiskInput, 'ip' | 'ipCountry' | 'deviceId'>;

/**
 * Country headers that the usual reverse proxies and CDNs set from their geo lookup (Cloudflare,
 * CloudFront, nginx/Traefik geoip set-ups). A client can send any of them itself, so they count only
 * when the app is configured to trust its proxy (`trustProxy`), like `X-Forwarded-For` does.
 */
const COUNTRY_HEADERS = ['CF-IPCountry', 'CloudFront-Viewer-Country', 'X-Client-Country'] as const;

/** At most what `assess` keeps; anything longer is dropped there anyway. */
const DEVICE_MAX = 200;

/**
 * Addresses that cannot be a client of a public service: loopback, private (RFC 1918, RFC 4193),
 * link-local, shared CGNAT space and the unspecified address. Seen as `ctx.ip` they are a proxy or
 * load balancer the app does not trust (or a local test): every customer behind it would share one
 * "IP" and the per-IP velocity rule would flag them all, so such an address is not passed on.
 */
const NOT_A_CLIENT = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const)
  NOT_A_CLIENT.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
] as const)
  NOT_A_CLIENT.addSubnet(net, prefix, 'ipv6');

/** The address as a client's, or undefined (not an address, or not a public one). */
export function clientAddress(raw: string): string | undefined {
  // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
  const ip = raw.startsWith('::ffff:') && isIP(raw.slice(7)) === 4 ? raw.slice(7) : raw;
  const family = isIP(ip);
  if (family === 0) return undefined;
  return NOT_A_CLIENT.check(ip, family === 4 ? 'ipv4' : 'ipv6') ? undefined : ip;
}

/**
 * The client's address (`ctx.ip`: Koa reads `X-Forwarded-For` only when `app.proxy` is set), its
 * country from the trusted proxy's geo header, and the device id the client sends (`X-Device-Id`).
 * Malformed values are left for `assess` to drop, so a bad header never fails the request.
 */
export function riskContextOf(ctx: Context): RiskRequestContext {
  const deviceId = ctx.get('X-Device-Id').trim();
  let ipCountry: string | undefined;
  if (ctx.app.proxy)
    for (const header of COUNTRY_HEADERS) {
      const value = ctx.get(header).trim();
      // `XX`: the proxy did not know the country (Cloudflare's convention), the same as no header.
      if (value !== '' && value.toUpperCase() !== 'XX') {
        ipCountry = value;
        break;
      }
    }
  return {
    ip: clientAddress(ctx.ip),
    ipCountry,
    deviceId: deviceId === '' || deviceId.length > DEVICE_MAX ? undefined : deviceId,
  };
}
