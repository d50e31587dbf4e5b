import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, TENANT, VEHICLE_A, VEHICLE_B, VEHICLE_MISSING, type Fixture } from '../test-fixtures.js';
import type { SubscribeAck } from './gateway.js';

let fx: Fixture;
const sockets: Socket[] = [];

beforeAll(async () => {
  fx = await startFixture();
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await fx?.close();
});

async function client(): Promise<Socket> {
  const socket = connect(fx.api.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

const request = (socket: Socket, event: string, payload: unknown): Promise<SubscribeAck> =>
  socket.timeout(5000).emitWithAck(event, payload) as Promise<SubscribeAck>;

const readings = (vehicleId: string, value: number) => ({
  type: 'readings' as const,
  tenantId: TENANT,
  vehicleId,
  readings: [{ signal: 'engine.rpm', time: new Date().toISOString(), value }],
});

describe('realtime gateway', () => {
  it('delivers readings only for the subscribed vehicle', async () => {
    const socket = await client();
    expect(await request(socket, 'subscribe', { vehicleId: VEHICLE_A })).toEqual({ ok: true });
    const received: { vehicleId: string; readings: { value: number }[] }[] = [];
    socket.on('readings', (msg: (typeof received)[number]) => received.push(msg));

    fx.bus.publish(readings(VEHICLE_B, 1));
    fx.bus.publish(readings(VEHICLE_A, 2));
    fx.bus.publish(readings(VEHICLE_B, 3));
    fx.bus.publish(readings(VEHICLE_A, 4));
    // A round trip after the publishes: the server handles this socket's packets in order, so by
    // the time the ack arrives every earlier room emit has been flushed to us.
    await request(socket, 'subscribe', { vehicleId: VEHICLE_A });
    await new Promise((r) => setTimeout(r, 50));

    expect(received.map((m) => m.vehicleId)).toEqual([VEHICLE_A, VEHICLE_A]);
    expect(received.map((m) => m.readings[0]?.value)).toEqual([2, 4]);
    expect(received[0]).toEqual({
      vehicleId: VEHICLE_A,
      readings: readings(VEHICLE_A, 2).readings.map((r) => ({ ...r, time: expect.any(String) })),
    });
  });

  it('relays presence to the vehicle room', async () => {
    const socket = await client();
    await request(socket, 'subscribe', { vehicleId: VEHICLE_B });
    const got = new Promise((resolve) => socket.once('presence', resolve));
    fx.bus.publish({
      type: 'presence',
      tenantId: TENANT,
      vehicleId: VEHICLE_B,
      deviceId: 'pi-b1',
      online: false,
      at: '2025-01-01T00:00:00.000Z',
    });
    expect(await got).toEqual({
      vehicleId: VEHICLE_B,
      deviceId: 'pi-b1',
      online: false,
      at: '2025-01-01T00:00:00.000Z',
    });
  });

  it('stops delivering after unsubscribe', async () => {
    const socket = await client();
    await request(socket, 'subscribe', { vehicleId: VEHICLE_A });
    expect(await request(socket, 'unsubscribe', { vehicleId: VEHICLE_A })).toEqual({ ok: true });
    const received: unknown[] = [];
    socket.on('readings', (m: unknown) => received.push(m));
    fx.bus.publish(readings(VEHICLE_A, 5));
    await request(socket, 'unsubscribe', { vehicleId: VEHICLE_A });
    await new Promise((r) => setTimeout(r, 50));
    expect(received).toEqual([]);
  });

  it('refuses malformed and unknown vehicles with a catalogue code', async () => {
    const socket = await client();
    expect(await request(socket, 'subscribe', { vehicleId: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED' },
    });
    expect(await request(socket, 'subscribe', 'garbage')).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED' },
    });
    expect(await request(socket, 'subscribe', { vehicleId: VEHICLE_MISSING })).toMatchObject({
      ok: false,
      error: { code: 'VEHICLE_NOT_FOUND' },
    });
    const received: unknown[] = [];
    socket.on('readings', (m: unknown) => received.push(m));
    fx.bus.publish(readings(VEHICLE_MISSING, 6));
    await request(socket, 'subscribe', { vehicleId: 'nope' });
    expect(received).toEqual([]);
  });

  it('serves the ESM client bundle the dashboard imports', async () => {
    const res = await fetch(`${fx.api.url}/socket.io/socket.io.esm.min.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(await res.text()).toMatch(/export\s*\{/);
  });
});
