import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { securityHeaders, type SecurityHeaderOptions } from './security.js';

let server: Server | undefined;

afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function cspOf(options?: SecurityHeaderOptions): Promise<string> {
  const app = new Koa();
  app.use(securityHeaders(options));
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  server = createServer(app.callback());
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  return res.headers.get('content-security-policy') ?? '';
}

const connectSrc = (csp: string): string[] =>
  csp
    .split(';')
    .map((d) => d.trim())
    .find((d) => d.startsWith('connect-src '))!
    .split(/\s+/)
    .slice(1);

describe('the Content-Security-Policy', () => {
  it('lets the pages talk to this server only, by default', async () => {
    expect(connectSrc(await cspOf())).toEqual(["'self'", 'ws:', 'wss:']);
  });

  it("adds the payment provider's browser API by its origin only (the checkout's card step)", async () => {
    const csp = await cspOf({
      connectSources: ['http://127.0.0.1:4567/', 'https://api.stripe.com/v1/payment_intents', 'https://api.stripe.com'],
    });
    expect(connectSrc(csp)).toEqual(["'self'", 'ws:', 'wss:', 'http://127.0.0.1:4567', 'https://api.stripe.com']);
    // Nothing else widens: scripts stay same-origin.
    expect(csp).toContain("default-src 'self';");
  });

  it('refuses a source that is not a URL instead of writing it into the policy', () => {
    expect(() => securityHeaders({ connectSources: ["'unsafe-inline'"] })).toThrow();
  });
});
