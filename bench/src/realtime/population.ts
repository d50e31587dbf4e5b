// Who is connected in the realtime bench, written straight into the database (no sign-in pages: an
// argon2id hash per user would cost minutes of CPU before the first socket): users with their role
// grants, one session per device, the cars and shops they watch, and an access token per session
// signed with the platform's keys, so every socket goes through the real handshake and policy.
import { randomUUID } from 'node:crypto';
import type { Database } from '@clutch/db';
import { signAccessToken, type SigningKeys } from '@clutch/identity';

/** One client socket: its credential and what it watches. */
export interface SocketSpec {
  id: number;
  token: string;
  /** A vehicle to `subscribe` to after the handshake (vehicle watchers). */
  vehicleId?: string;
  /** The rooms this socket is in on the gateway: what a bare socket.io server makes it `join`. */
  rooms: string[];
}

/** A car watched by a few sockets of its owner (phone, laptop, tablet): `location` goes to all of them. */
export interface WatchedVehicle {
  vehicleId: string;
  ownerUserId: string;
  sockets: number[];
}

/** A booking's conversation: the customer on two devices and the shop's front desk. */
export interface BookingParties {
  bookingId: string;
  shopTenantId: string;
  partnerId: string;
  customerUserId: string;
  vehicleId: string;
  sockets: number[];
}

export interface Population {
  sockets: SocketSpec[];
  vehicles: WatchedVehicle[];
  bookings: BookingParties[];
}

export const WATCHERS_PER_VEHICLE = 3;
const CUSTOMER_DEVICES = 2;

/** Room names as the gateway builds them (api/src/realtime): the bare reference joins the same. */
const vehicleRoom = (vehicleId: string): string => `vehicle:${vehicleId}:location:read`;
const customerUserRoom = (userId: string): string => `customer:consumers:user:${userId}:bookings:read`;
const shopRoom = (tenantId: string, partnerId: string): string => `shop:${tenantId}:${partnerId}:bookings:read`;

async function roleId(db: Database, key: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id::text AS id FROM roles WHERE tenant_id = 'platform' AND key = $1`,
    [key],
  );
  if (!rows[0]) throw new Error(`no built-in role ${key}`);
  return rows[0].id;
}

async function insertUsers(db: Database, tenantIds: string[], role: string, label: string): Promise<string[]> {
  const ids = tenantIds.map(() => randomUUID());
  await db.query(
    `INSERT INTO users (id, tenant_id, email, display_name, status)
     SELECT id, tenant_id, $3 || '-' || left(id::text, 8) || '@bench.example', $3 || ' ' || n, 'active'
       FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS u(id, tenant_id, n)`,
    [ids, tenantIds, label],
  );
  await db.query(
    `INSERT INTO role_grants (tenant_id, user_id, role_id, valid_from, granted_by)
     SELECT tenant_id, id, $3, now() - interval '1 minute', 'realtime-bench'
       FROM unnest($1::uuid[], $2::text[]) AS u(id, tenant_id)`,
    [ids, tenantIds, await roleId(db, role)],
  );
  return ids;
}

/** One session per device of each user; returns the session ids in the same order. */
async function insertSessions(db: Database, users: { userId: string; tenantId: string }[]): Promise<string[]> {
  const ids = users.map(() => randomUUID());
  await db.query(
    `INSERT INTO sessions (id, tenant_id, user_id, client, device_name, ip, user_agent, expires_at)
     SELECT id, tenant_id, user_id, 'mobile', 'bench device', '127.0.0.1', 'clutch-realtime-bench', now() + interval '1 day'
       FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS s(id, tenant_id, user_id)`,
    [ids, users.map((u) => u.tenantId), users.map((u) => u.userId)],
  );
  return ids;
}

/**
 * About half the sockets watch cars (three devices of the car's owner per car), the other half are
 * the parties of bookings (the customer on two devices, the shop's one front desk socket): every
 * event reaches three sockets, a vehicle room's or a booking's conversation.
 */
export async function seedPopulation(db: Database, keys: SigningKeys, sockets: number): Promise<Population> {
  const owners = Math.floor(sockets / 2 / WATCHERS_PER_VEHICLE);
  const triads = Math.floor((sockets - owners * WATCHERS_PER_VEHICLE) / (CUSTOMER_DEVICES + 1));

  const ownerIds = await insertUsers(db, Array(owners).fill('consumers'), 'owner', 'owner');
  const vehicleIds = ownerIds.map(() => randomUUID());
  await db.query(
    `INSERT INTO vehicles (id, tenant_id, name, owner_user_id)
     SELECT id, 'consumers', 'Bench car ' || n, owner FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS v(id, owner, n)`,
    [vehicleIds, ownerIds],
  );

  const shopTenants = Array.from({ length: triads }, (_, i) => `rt-shop-${i}`);
  await db.query(
    `INSERT INTO tenants (id, name, kind) SELECT id, 'Bench shop ' || id, 'partner' FROM unnest($1::text[]) AS t(id)`,
    [shopTenants],
  );
  const partnerIds = shopTenants.map(() => randomUUID());
  await db.query(
    `INSERT INTO partners (id, tenant_id, name, kinds, time_zone, currency, labour_rate_minor, lat, lon, status)
     SELECT id, tenant_id, 'Shop ' || tenant_id, ARRAY['repair_center'], 'UTC', 'EUR', 9000, 52.52, 13.40, 'active'
       FROM unnest($1::uuid[], $2::text[]) AS p(id, tenant_id)`,
    [partnerIds, shopTenants],
  );
  const deskIds = await insertUsers(db, shopTenants, 'partner-admin', 'desk');
  const customerIds = await insertUsers(db, Array(triads).fill('consumers'), 'owner', 'customer');
  const customerCars = customerIds.map(() => randomUUID());
  await db.query(
    `INSERT INTO vehicles (id, tenant_id, name, owner_user_id)
     SELECT id, 'consumers', 'Booked car ' || n, owner FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS v(id, owner, n)`,
    [customerCars, customerIds],
  );

  // Devices in socket order: owners' three, then per booking the customer's two and the desk's one.
  const devices: { userId: string; tenantId: string }[] = [];
  for (const userId of ownerIds)
    for (let d = 0; d < WATCHERS_PER_VEHICLE; d++) devices.push({ userId, tenantId: 'consumers' });
  for (let t = 0; t < triads; t++) {
    for (let d = 0; d < CUSTOMER_DEVICES; d++) devices.push({ userId: customerIds[t]!, tenantId: 'consumers' });
    devices.push({ userId: deskIds[t]!, tenantId: shopTenants[t]! });
  }
  // What the rounding leaves (at most five): one more device each for the first owners, so exactly
  // `sockets` connect.
  const extra = owners > 0 ? sockets - devices.length : 0;
  for (let r = 0; r < extra; r++) devices.push({ userId: ownerIds[r % owners]!, tenantId: 'consumers' });
  const sessionIds = await insertSessions(db, devices);
  const tokens = await Promise.all(
    devices.map(
      async (d, i) =>
        (
          await signAccessToken(keys, {
            userId: d.userId,
            tenantId: d.tenantId,
            sessionId: sessionIds[i]!,
            mfaAt: null,
          })
        ).token,
    ),
  );

  const specs: SocketSpec[] = [];
  const vehicles: WatchedVehicle[] = ownerIds.map((_, o) => {
    const ids = Array.from({ length: WATCHERS_PER_VEHICLE }, (_, d) => o * WATCHERS_PER_VEHICLE + d);
    for (const id of ids)
      specs.push({ id, token: tokens[id]!, vehicleId: vehicleIds[o]!, rooms: [vehicleRoom(vehicleIds[o]!)] });
    return { vehicleId: vehicleIds[o]!, ownerUserId: ownerIds[o]!, sockets: ids };
  });
  const base = owners * WATCHERS_PER_VEHICLE;
  const bookings: BookingParties[] = shopTenants.map((shopTenantId, t) => {
    const ids = Array.from({ length: CUSTOMER_DEVICES + 1 }, (_, d) => base + t * (CUSTOMER_DEVICES + 1) + d);
    const partnerId = partnerIds[t]!;
    const customerUserId = customerIds[t]!;
    ids.forEach((id, d) =>
      specs.push({
        id,
        token: tokens[id]!,
        rooms: [d < CUSTOMER_DEVICES ? customerUserRoom(customerUserId) : shopRoom(shopTenantId, partnerId)],
      }),
    );
    return {
      bookingId: randomUUID(),
      shopTenantId,
      partnerId,
      customerUserId,
      vehicleId: customerCars[t]!,
      sockets: ids,
    };
  });
  for (let r = 0; r < extra; r++) {
    const id = base + triads * (CUSTOMER_DEVICES + 1) + r;
    const car = vehicles[r % owners]!;
    specs.push({ id, token: tokens[id]!, vehicleId: car.vehicleId, rooms: [vehicleRoom(car.vehicleId)] });
    car.sockets.push(id);
  }
  return { sockets: specs, vehicles, bookings };
}
