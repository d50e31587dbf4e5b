import type { VehicleEvent } from '@clutch/contracts';
import { createApiKey, type ApiKeyScope } from '@clutch/identity';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startFixture, TENANT, VEHICLE_A, type Fixture } from '../test-fixtures.js';
import { EVENT_SCOPES } from './event-scopes.js';

const ADMIN = 'admin-token-for-realtime-tests-0123';
let fx: Fixture;
const sockets: Socket[] = [];

beforeAll(async () => {
  fx = await startFixture({ requireAuth: true, adminToken: ADMIN });
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await fx?.close();
});

async function open(token: string): Promise<Socket> {
  const socket = connect(fx.api.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token },
  });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

const subscribe = (socket: Socket, vehicleId: string): Promise<unknown> =>
  socket.timeout(5000).emitWithAck('subscribe', { vehicleId });

const keyWith = async (scopes: ApiKeyScope[], expiresAt?: Date): Promise<{ token: string; keyId: string }> =>
  createApiKey(fx.db, {
    tenantId: TENANT,
    name: `live ${scopes.join(' ')}`,
    scopes,
    ...(expiresAt ? { expiresAt } : {}),
  });

/** Everything a socket receives, by event name. */
function record(socket: Socket): Map<string, unknown[]> {
  const got = new Map<string, unknown[]>();
  socket.onAny((event: string, payload: unknown) => got.set(event, [...(got.get(event) ?? []), payload]));
  return got;
}

/** A round trip per socket after the publish: the server writes each socket's packets in order. */
async function settle(...all: Socket[]): Promise<void> {
  await Promise.all(all.map((s) => subscribe(s, VEHICLE_A)));
  await new Promise((r) => setTimeout(r, 50));
}

const at = '2030-01-01T00:00:00.000Z';
const events: Record<VehicleEvent['type'], VehicleEvent> = {
  readings: {
    type: 'readings',
    tenantId: TENANT,
    vehicleId: VEHICLE_A,
    readings: [{ signal: 'engine.rpm', time: at, value: 900 }],
  },
  alert: {
    type: 'alert',
    tenantId: TENANT,
    vehicleId: VEHICLE_A,
    alert: { id: 'a1', kind: 'overheat', severity: 'warning', title: 't', explanation: 'e', signals: [], at },
  },
  presence: { type: 'presence', tenantId: TENANT, vehicleId: VEHICLE_A, deviceId: 'pi-a1', online: true, at },
  location: { type: 'location', tenantId: TENANT, vehicleId: VEHICLE_A, at, lat: 52.5, lon: 13.4 },
  dtc: { type: 'dtc', tenantId: TENANT, vehicleId: VEHICLE_A, at, codes: [{ code: 'P0301', kind: 'stored' }] },
  command: {
    type: 'command',
    tenantId: TENANT,
    vehicleId: VEHICLE_A,
    commandId: '11111111-2222-4333-8444-555555555555',
    status: 'sent',
  },
};

describe('Socket.io scopes (finding 12.4)', () => {
  it.each(Object.entries(EVENT_SCOPES) as [VehicleEvent['type'], ApiKeyScope][])(
    'regression 12.4: a %s event reaches keys with %s and no other key',
    async (type, scope) => {
      const withScope = await open((await keyWith([scope])).token);
      const others = (Object.values(EVENT_SCOPES) as ApiKeyScope[]).filter((s) => s !== scope);
      const without = await open((await keyWith([...new Set(others)])).token);
      const admin = await open(ADMIN);
      for (const s of [withScope, without, admin]) expect(await subscribe(s, VEHICLE_A)).toEqual({ ok: true });
      const [gotWith, gotWithout, gotAdmin] = [record(withScope), record(without), record(admin)];

      fx.bus.publish(events[type]);
      await settle(withScope, without, admin);

      const { type: _t, tenantId: _tenant, ...payload } = events[type];
      expect(gotWith.get(type)).toEqual([payload]);
      expect(gotAdmin.get(type)).toEqual([payload]);
      expect([...gotWithout.keys()]).toEqual([]);
    },
  );

  it('lets any scope of the table connect, and still refuses a wrong token', async () => {
    await expect(open('ck_0123456789abcdef_wrongsecretwrongsecret')).rejects.toThrow(/unauthorized/);
    await expect(open((await keyWith(['commands:write'])).token)).resolves.toBeDefined();
  });
});

describe('Socket.io and key revocation (finding 12.3)', () => {
  it('regression 12.3: revoking an API key over REST ends its open sockets within a second', async () => {
    const key = await keyWith(['telemetry:read']);
    const other = await open((await keyWith(['telemetry:read'])).token);
    expect(await subscribe(other, VEHICLE_A)).toEqual({ ok: true });
    const socket = await open(key.token);
    expect(await subscribe(socket, VEHICLE_A)).toEqual({ ok: true });
    const ended = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    const started = Date.now();
    // The DELETE route commits the revocation with its event; the fixture's outbox relay puts it on the bus.
    const res = await call(fx.api.url, 'DELETE', `/api/api-keys/${TENANT}/${key.keyId}`, { token: ADMIN });
    expect(res.status).toBe(204);
    expect(await ended).toBe('io server disconnect');
    expect(Date.now() - started).toBeLessThan(1000);
    // What the user sees next: the key no longer opens a socket, and other keys' sockets live on.
    await expect(open(key.token)).rejects.toThrow(/unauthorized/);
    expect(other.connected).toBe(true);
    const got = record(other);
    fx.bus.publish(events.readings);
    await settle(other);
    expect(got.get('readings')).toHaveLength(1);
  });

  it('ends a socket when its key expires, and only then', async () => {
    const expiresAt = new Date(Date.now() + 1500);
    const socket = await open((await keyWith(['telemetry:read'], expiresAt)).token);
    const ended = new Promise<number>((resolve) => socket.once('disconnect', () => resolve(Date.now())));
    const when = await ended;
    expect(when).toBeGreaterThanOrEqual(expiresAt.getTime() - 5);
    expect(when - expiresAt.getTime()).toBeLessThan(1000);
    await expect(open((await keyWith(['telemetry:read'], new Date(Date.now() + 60_000))).token)).resolves.toBeDefined();
  });
});
