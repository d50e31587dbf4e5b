import { generateSigningKeys } from '@clutch/identity';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInRoleId, signedInUser, type TestUser } from '../roles/test-users.js';
import { backends, call, startFixture, TENANT, VEHICLE_A, type Fixture } from '../test-fixtures.js';

const ADMIN = 'admin-token-for-socket-rbac-0123456789';
const ALICE_CAR = 'a11ce0ca-0000-4000-8000-0000000000aa';
const BOB_CAR = 'b0b000ca-0000-4000-8000-0000000000bb';

type Ack = { ok: boolean; error?: { code: string } };

describe.each(backends('api_socket_rbac'))('Socket.io rooms decided by the policy on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let alice: TestUser;
  let bob: TestUser;
  let tina: TestUser;
  const sockets: Socket[] = [];

  const socketOf = (token: string | undefined): Promise<Socket> => {
    const socket = connect(fx.api.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: token ? { token } : {},
    });
    sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  };
  const subscribe = (socket: Socket, vehicleId: string): Promise<Ack> =>
    socket.timeout(5000).emitWithAck('subscribe', { vehicleId }) as Promise<Ack>;
  /** Every `dtc` and `readings` event a socket receives, as "<type> <vehicle>". */
  const received = (socket: Socket): string[] => {
    const seen: string[] = [];
    for (const type of ['dtc', 'readings'])
      socket.on(type, (payload: { vehicleId: string }) => seen.push(`${type} ${payload.vehicleId}`));
    return seen;
  };
  const dtc = (tenantId: string, vehicleId: string) =>
    fx.bus.publish({
      type: 'dtc',
      tenantId,
      vehicleId,
      at: new Date().toISOString(),
      codes: [{ code: 'P0301', kind: 'stored' }],
    });
  const readings = (tenantId: string, vehicleId: string) =>
    fx.bus.publish({
      type: 'readings',
      tenantId,
      vehicleId,
      readings: [{ signal: 'engine.rpm', time: new Date().toISOString(), value: 900 }],
    });

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      identity: { signingKeys: keys },
      ...(open ? { open } : {}),
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    tina = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['technician'], name: 'Tina', mfa: true });
    await fx.db.query(
      `INSERT INTO vehicles (id, tenant_id, name, owner_user_id) VALUES ($1, 'consumers', 'Alice car', $3), ($2, 'consumers', 'Bob car', $4)`,
      [ALICE_CAR, BOB_CAR, alice.userId, bob.userId],
    );
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await fx?.close();
  });

  it('lets an owner watch their own vehicle only, and refuses a user with no live permission', async () => {
    const socket = await socketOf(alice.token);
    expect(await subscribe(socket, ALICE_CAR)).toEqual({ ok: true });
    expect(await subscribe(socket, BOB_CAR)).toMatchObject({ ok: false, error: { code: 'VEHICLE_NOT_FOUND' } });
    expect(await subscribe(socket, VEHICLE_A)).toMatchObject({ ok: false, error: { code: 'VEHICLE_NOT_FOUND' } });
    const seen = received(socket);
    readings('consumers', BOB_CAR);
    readings('consumers', ALICE_CAR);
    await expect.poll(() => seen).toEqual(['readings ' + ALICE_CAR]);
    const nobody = await signedInUser(fx.db, keys, { tenantId: TENANT });
    await expect(socketOf(nobody.token)).rejects.toThrow(/unauthorized/);
  });

  it("takes a browser's access cookie like REST does", async () => {
    const socket = connect(fx.api.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      extraHeaders: { cookie: `clutch_access=${alice.token}` },
    });
    sockets.push(socket);
    await new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(undefined));
      socket.once('connect_error', reject);
    });
    expect(await subscribe(socket, ALICE_CAR)).toEqual({ ok: true });
    expect(await subscribe(socket, BOB_CAR)).toMatchObject({ ok: false, error: { code: 'VEHICLE_NOT_FOUND' } });
  });

  it('gives a shop only the shared permissions of a shared vehicle, and takes them back when the share ends', async () => {
    const share = await call(fx.api.url, 'POST', `/api/vehicles/${ALICE_CAR}/shares`, {
      token: alice.token,
      body: {
        granteeTenantId: TENANT,
        permissions: ['vehicles:read', 'dtc:read'],
        validUntil: new Date(Date.now() + 3600_000).toISOString(),
      },
    });
    expect(share.status, JSON.stringify(share.body)).toBe(201);
    const socket = await socketOf(tina.token);
    expect(await subscribe(socket, ALICE_CAR)).toEqual({ ok: true });
    expect(await subscribe(socket, VEHICLE_A)).toEqual({ ok: true });
    const seen = received(socket);
    readings('consumers', ALICE_CAR); // telemetry was not shared
    dtc('consumers', ALICE_CAR);
    dtc(TENANT, VEHICLE_A);
    await expect.poll(() => seen).toEqual([`dtc ${ALICE_CAR}`, `dtc ${VEHICLE_A}`]);

    const revoked = await call(fx.api.url, 'DELETE', `/api/vehicles/${ALICE_CAR}/shares/${String(share.body.id)}`, {
      token: alice.token,
      headers: { 'x-requested-with': 'test' },
    });
    expect(revoked.status).toBe(204);
    // Each round: an event of the ended share, then one of the shop's own vehicle, which arrives after it
    // would have. Once the re-check ran, the rounds show the shop's own events only.
    await expect
      .poll(async () => {
        seen.length = 0;
        dtc('consumers', ALICE_CAR);
        dtc(TENANT, VEHICLE_A);
        await expect.poll(() => seen.at(-1)).toBe(`dtc ${VEHICLE_A}`);
        return [...seen];
      })
      .toEqual([`dtc ${VEHICLE_A}`]);
    expect(socket.connected).toBe(true);
  });

  it("ends a user's sockets when their roles change, so they reconnect with what they now hold", async () => {
    const socket = await socketOf(tina.token);
    const ended = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    const admin = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['partner-admin'], mfa: true });
    const res = await call(
      fx.api.url,
      'DELETE',
      `/api/users/${tina.userId}/roles?roleId=${await builtInRoleId(fx.db, 'technician')}`,
      { token: admin.token, headers: { 'x-requested-with': 'test' } },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(204);
    expect(await ended).toBe('io server disconnect');
    await expect(socketOf(tina.token)).rejects.toThrow(/unauthorized/);
  });
});
