import { sha256, type DeviceFacts, type SessionClient } from '@clutch/identity';
import type { Context } from 'koa';

/**
 * Which kind of client is signing in: the mobile app says `X-Client: mobile` and gets bearer tokens
 * in the body; everything else is a browser and gets httpOnly cookies (docs/identity.md).
 */
export function clientOf(ctx: Context): SessionClient {
  return ctx.get('X-Client').trim().toLowerCase() === 'mobile' ? 'mobile' : 'browser';
}

/**
 * The device fingerprint: the app's installation id (`X-Device-Id`) when it sends one, otherwise
 * the User-Agent without version numbers (browser family and platform), which a browser update
 * leaves alone but another browser or machine does not. Only its SHA-256 is stored. It is a
 * tripwire for a refresh token copied to another device, not an identity: it is sent by the client.
 */
export function fingerprintOf(ctx: Context): Buffer | null {
  const deviceId = ctx.get('X-Device-Id').trim();
  if (deviceId !== '') return sha256(`device:${deviceId.slice(0, 200)}`);
  const agent = ctx.get('User-Agent');
  if (agent === '') return null;
  const stable = agent
    .slice(0, 512)
    .replace(/\/[\w.+-]*/g, '')
    .replace(/\b\d+([._]\d+)*\b/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return sha256(`agent:${stable}`);
}

/** What a session records about where it was started or refreshed. */
export function deviceFacts(ctx: Context, deviceName?: string | null): DeviceFacts {
  const agent = ctx.get('User-Agent');
  return {
    client: clientOf(ctx),
    deviceName: deviceName?.trim() || null,
    fingerprint: fingerprintOf(ctx),
    ip: ctx.ip || null,
    userAgent: agent === '' ? null : agent.slice(0, 512),
  };
}

/** Short readable label of a user agent for the sessions page ("Chrome on Linux"); null when unknown. */
export function describeAgent(agent: string | null): string | null {
  if (!agent) return null;
  const browser = /Edg\//.test(agent)
    ? 'Edge'
    : /Firefox\//.test(agent)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(agent)
        ? 'Chrome'
        : /Safari\//.test(agent)
          ? 'Safari'
          : null;
  const os = /Android/.test(agent)
    ? 'Android'
    : /iPhone|iPad|iOS/.test(agent)
      ? 'iOS'
      : /Windows/.test(agent)
        ? 'Windows'
        : /Mac OS X|Macintosh/.test(agent)
          ? 'macOS'
          : /Linux/.test(agent)
            ? 'Linux'
            : null;
  if (browser && os) return `${browser} on ${os}`;
  return browser ?? os;
}
