// Test helper (imported only by tests): a shop, its staff, two car owners with a booking each, a
// support agent and a stranger shop, on a started API that requires sign-in.
import { randomUUID } from 'node:crypto';
import { generateSigningKeys, type SigningKeys } from '@clutch/identity';
import { expect } from 'vitest';
import { createOwnedVehicle, createTestShop, type TestShop } from '../bookings/test-shop.js';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { call, startFixture, type Fixture, type OpenDatabase, type Reply } from '../test-fixtures.js';

export const CHAT_ADMIN_TOKEN = 'admin-token-for-chat-tests';

export interface ChatWorld {
  fx: Fixture;
  keys: SigningKeys;
  shop: TestShop;
  /** Car owners (consumer tenant): Alice booked at the shop, Bob elsewhere. */
  alice: TestUser;
  bob: TestUser;
  /** The shop's partner admin and technician. */
  pam: TestUser;
  tina: TestUser;
  /** Partner admin of another shop. */
  oscar: TestUser;
  /** Platform support (chat:read, chat:moderate). */
  sue: TestUser;
  aliceBooking: string;
  bobBooking: string;
}

/** hh:00 UTC `days` from now: inside the test shops' opening hours whatever the time of the run. */
const inDays = (days: number, hour: number): string => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days, hour)).toISOString();
};

export async function startChatWorld(
  open: OpenDatabase | undefined,
  tenant: string,
  overrides: Omit<Parameters<typeof startFixture>[0], 'open'> = {},
): Promise<ChatWorld> {
  const keys = generateSigningKeys();
  const fx = await startFixture({
    requireAuth: true,
    adminToken: CHAT_ADMIN_TOKEN,
    identity: { signingKeys: keys },
    rateLimit: { enabled: false },
    ...overrides,
    ...(open ? { open } : {}),
  });
  const alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
  const bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
  const aliceCar = await createOwnedVehicle(fx.db, alice.userId, 'Alice hatchback');
  const bobCar = await createOwnedVehicle(fx.db, bob.userId, 'Bob estate');
  const options = {
    services: [{ code: 'inspection', durationMinutes: 60, requiredSkill: null }],
    resources: [
      { name: 'Bay 1', kind: 'bay' as const },
      { name: 'Bay 2', kind: 'bay' as const },
      { name: 'Tech 1', kind: 'technician' as const },
      { name: 'Tech 2', kind: 'technician' as const },
    ],
    rules: { minLeadMinutes: 0 },
  };
  const shop = await createTestShop(fx.db, { tenantId: tenant, ...options });
  const otherShop = await createTestShop(fx.db, { tenantId: `${tenant}-other`, ...options });
  const pam = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['partner-admin'], name: 'Pam' });
  const tina = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['technician'], name: 'Tina' });
  const oscar = await signedInUser(fx.db, keys, {
    tenantId: otherShop.tenantId,
    roles: ['partner-admin'],
    name: 'Oscar',
  });
  const sue = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['support'], name: 'Sue' });
  const book = async (as: TestUser, vehicleId: string, s: TestShop, startsAt: string): Promise<string> => {
    const res = await api(fx, 'POST', '/bookings', as, {
      partnerId: s.partnerId,
      serviceId: s.services.inspection,
      vehicleId,
      startsAt,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  const aliceBooking = await book(alice, aliceCar, shop, inDays(2, 10));
  const bobBooking = await book(bob, bobCar, otherShop, inDays(2, 11));
  return { fx, keys, shop, alice, bob, pam, tina, oscar, sue, aliceBooking, bobBooking };
}

export function api(fx: Fixture, method: string, path: string, as: TestUser | string, body?: unknown): Promise<Reply> {
  return call(fx.api.url, method, `/api${path}`, {
    token: typeof as === 'string' ? as : as.token,
    ...(body !== undefined ? { body } : method === 'GET' ? {} : { headers: { 'x-requested-with': 'test' } }),
  });
}

export function ok(res: Reply, status = 200): Record<string, unknown> {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  return res.body;
}

/** A message body for a post. */
export const say = (body: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  clientMessageId: randomUUID(),
  body,
  ...extra,
});
