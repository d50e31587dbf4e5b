import type { MarketplaceEvent } from '@clutch/contracts';
import { BUILT_IN_ROLES, compileSnapshot, type Grant, type Subject, type TenantKind } from '@clutch/identity';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { decideMarketplaceRooms, roomsOfMarketplaceEvent } from './marketplace-rooms.js';

// The built-in roles as the policy store compiles them (platform templates, ids = keys).
const snapshot = compileSnapshot(
  BUILT_IN_ROLES.map((r) => ({
    id: r.key,
    tenantId: 'platform',
    key: r.key,
    name: r.name,
    description: r.description,
    builtIn: true,
    grantableIn: r.grantableIn,
    parents: r.parents,
    permissions: r.permissions,
  })),
);
const NOW = Date.parse('2030-01-01T12:00:00Z');
const SHOP_1 = '10000000-0000-4000-8000-000000000001';
const SHOP_2 = '10000000-0000-4000-8000-000000000002';

function user(
  tenantId: string,
  tenantKind: TenantKind,
  roles: (string | (Partial<Grant> & { roleId: string }))[],
): { subject: Subject; principal: Extract<Principal, { kind: 'user' }> } {
  const userId = `u-${tenantId}`;
  const grants: Grant[] = roles.map((r, i) => ({
    id: `g${i}`,
    validFrom: NOW - 60_000,
    validUntil: null,
    resource: null,
    ...(typeof r === 'string' ? { roleId: r } : r),
  }));
  return {
    subject: { kind: 'user', userId, tenantId, tenantKind, grants },
    principal: { kind: 'user', userId, tenantId, sessionId: 's', mfaAt: null, expiresAt: new Date(NOW + 600_000) },
  };
}

const rooms = (who: ReturnType<typeof user>, shops: string[] = []) =>
  decideMarketplaceRooms(snapshot, who.subject, who.principal, shops, NOW);

describe('which marketplace rooms a socket joins (the policy function, on stand-in records)', () => {
  it('a car owner: their own bookings and repair orders only, never the consumer tenant as a whole', () => {
    const owner = user('consumers', 'consumer', ['owner']);
    expect(rooms(owner).rooms).toEqual([
      'customer:consumers:user:u-consumers:bookings:read',
      'customer:consumers:user:u-consumers:repair-orders:read',
      // Their own payments too (payments:read, ownership: booking).
      'customer:consumers:user:u-consumers:payments:read',
    ]);
  });

  it("organisation-wide staff: every shop of the organisation, and the organisation's own bookings elsewhere", () => {
    const admin = user('acme', 'partner', ['partner-admin']);
    expect(rooms(admin, [SHOP_1, SHOP_2]).rooms.sort()).toEqual(
      [
        'customer:acme:bookings:read',
        'customer:acme:repair-orders:read',
        `shop:acme:${SHOP_1}:bookings:read`,
        `shop:acme:${SHOP_1}:repair-orders:read`,
        `shop:acme:${SHOP_2}:bookings:read`,
        `shop:acme:${SHOP_2}:repair-orders:read`,
        'customer:acme:payments:read',
        `shop:acme:${SHOP_1}:payments:read`,
        `shop:acme:${SHOP_2}:payments:read`,
      ].sort(),
    );
    // A fleet manager books as a customer; the organisation's shops are not theirs to run.
    const fleet = user('fleet', 'partner', ['fleet-manager']);
    expect(rooms(fleet, [SHOP_1]).rooms).toContain('customer:fleet:bookings:read');
  });

  it("a technician bound to one shop: that shop's rooms only, until the grant ends", () => {
    const until = NOW + 3600_000;
    const bound = user('acme', 'partner', [
      { roleId: 'technician', resource: { type: 'shop', id: SHOP_1 }, validUntil: until },
    ]);
    const decided = rooms(bound, [SHOP_1, SHOP_2]);
    expect(decided.rooms).toEqual([`shop:acme:${SHOP_1}:bookings:read`, `shop:acme:${SHOP_1}:repair-orders:read`]);
    expect(decided.until).toBe(until);
  });

  it('nothing for a role without the read permissions; everything for platform support', () => {
    expect(rooms(user('acme', 'partner', []), [SHOP_1]).rooms).toEqual([]);
    expect(rooms(user('platform', 'platform', ['support'])).rooms).toEqual([
      'marketplace:bookings:read',
      'marketplace:repair-orders:read',
      'marketplace:payments:read',
    ]);
  });

  it("sends an event to its shop's room (of the outbox row's tenant), its customer's rooms and the platform's", () => {
    const event: MarketplaceEvent = {
      type: 'service_status_change',
      tenantId: 'acme',
      repairOrderId: 'r1',
      bookingId: 'b1',
      partnerId: SHOP_1,
      customerTenantId: 'consumers',
      customerUserId: 'u-consumers',
      vehicleId: null,
      from: 'confirmed',
      to: 'checked_in',
      at: '2030-01-01T12:00:00.000Z',
    };
    expect(roomsOfMarketplaceEvent(event)).toEqual([
      `shop:acme:${SHOP_1}:repair-orders:read`,
      'customer:consumers:repair-orders:read',
      'customer:consumers:user:u-consumers:repair-orders:read',
      'marketplace:repair-orders:read',
    ]);
    // The owner's and the shop's sockets above are in exactly these rooms.
    const owner = rooms(user('consumers', 'consumer', ['owner'])).rooms;
    const staff = rooms(user('acme', 'partner', ['partner-admin']), [SHOP_1]).rooms;
    for (const joined of [owner, staff])
      expect(joined.some((r) => roomsOfMarketplaceEvent(event).includes(r))).toBe(true);
    const otherOwner = rooms(user('consumers', 'consumer', ['owner']));
    expect(
      otherOwner.rooms.some((r) => roomsOfMarketplaceEvent({ ...event, customerUserId: 'someone-else' }).includes(r)),
    ).toBe(false);
  });
});
