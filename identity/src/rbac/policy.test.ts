import { describe, expect, it } from 'vitest';
import { BUILT_IN_ROLES } from './built-in-roles.js';
import { parseCondition, type Condition } from './conditions.js';
import { findCycle } from './graph.js';
import { PERMISSION_NAMES } from './permissions.js';
import {
  compileSnapshot,
  decide,
  evaluateCondition,
  roleApplies,
  grantActive,
  bindingMatches,
  uncoveredRules,
  type Grant,
  type Resource,
  type RoleDefinition,
  type Subject,
  type TenantKind,
} from './policy.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const HOUR = 3600_000;

function role(
  id: string,
  permissions: (string | [string, Condition])[],
  options: Partial<Pick<RoleDefinition, 'tenantId' | 'parents' | 'grantableIn'>> = {},
): RoleDefinition {
  return {
    id,
    tenantId: options.tenantId ?? 'acme',
    key: id,
    name: id,
    description: '',
    builtIn: false,
    grantableIn: options.grantableIn ?? null,
    parents: options.parents ?? [],
    permissions: permissions.map((p) =>
      typeof p === 'string' ? { permission: p, condition: null } : { permission: p[0], condition: p[1] },
    ),
  };
}

const grant = (roleId: string, extra: Partial<Grant> = {}): Grant => ({
  id: `g-${roleId}`,
  roleId,
  validFrom: NOW - HOUR,
  validUntil: null,
  resource: null,
  ...extra,
});

const user = (
  grants: Grant[],
  tenantId = 'acme',
  tenantKind: TenantKind = tenantId === 'platform' ? 'platform' : tenantId === 'consumers' ? 'consumer' : 'partner',
  userId = 'u-1',
): Subject => ({ kind: 'user', userId, tenantId, tenantKind, grants });

const vehicle = (extra: Partial<Resource> = {}): Resource => ({
  type: 'vehicle',
  id: 'v-1',
  tenantId: 'acme',
  ...extra,
});

describe('decide: inheritance', () => {
  const snapshot = compileSnapshot([
    role('viewer', ['vehicles:read']),
    role('mechanic', ['dtc:read'], { parents: ['viewer'] }),
    role('lead', ['commands:write'], { parents: ['mechanic'] }),
  ]);

  it('gives a role every permission of its ancestors, and nothing of its descendants', () => {
    const lead = user([grant('lead')]);
    for (const p of ['vehicles:read', 'dtc:read', 'commands:write'])
      expect(decide(snapshot, lead, p, undefined, NOW).allow).toBe(true);
    const viewer = user([grant('viewer')]);
    expect(decide(snapshot, viewer, 'vehicles:read', undefined, NOW)).toEqual({ allow: true, reason: 'role viewer' });
    expect(decide(snapshot, viewer, 'dtc:read', undefined, NOW)).toEqual({
      allow: false,
      reason: 'no role in force gives dtc:read',
    });
  });

  it('refuses a permission that is not in the catalogue, whatever the roles say', () => {
    const odd = compileSnapshot([role('odd', ['vehicles:fly'])]);
    expect(decide(odd, user([grant('odd')]), 'vehicles:fly', undefined, NOW)).toMatchObject({ allow: false });
    expect(decide(odd, { kind: 'admin' }, 'vehicles:fly', undefined, NOW).allow).toBe(true);
  });
});

describe('cycles', () => {
  it('finds a cycle the graph would have, with the roles along it', () => {
    const edges = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', []],
    ]);
    expect(findCycle(edges)).toBeNull();
    edges.set('c', ['a']);
    expect(findCycle(edges)).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(new Map([['self', ['self']]]))).toEqual(['self', 'self']);
    // A diamond is not a cycle.
    expect(
      findCycle(
        new Map([
          ['top', ['l', 'r']],
          ['l', ['base']],
          ['r', ['base']],
        ]),
      ),
    ).toBeNull();
  });

  it('compiles a cyclic graph (corrupt data) without looping: every role on it holds the union', () => {
    const snapshot = compileSnapshot([
      role('a', ['vehicles:read'], { parents: ['b'] }),
      role('b', ['dtc:read'], { parents: ['a'] }),
    ]);
    for (const id of ['a', 'b'])
      expect([...snapshot.roles.get(id)!.rules.keys()].sort()).toEqual(['dtc:read', 'vehicles:read']);
  });
});

describe('conditions', () => {
  const snapshot = compileSnapshot([
    role(
      'owner',
      [
        ['vehicles:read', { ownership: 'vehicle' }],
        ['telemetry:read', { ownership: 'vehicle' }],
      ],
      {
        tenantId: 'consumers',
      },
    ),
    role('same-tenant', [['vehicles:read', { attribute: 'vehicle.tenantId', equals: 'subject.tenantId' }]]),
    role('volvo-only', [['vehicles:read', { attribute: 'vehicle.make', value: 'Volvo' }]]),
    role('open-bookings', [['bookings:read', { attribute: 'booking.status', in: ['open', 'confirmed'] }]]),
    role('shop', [['bookings:read', { ownership: 'shop' }]]),
    role('booking-owner', [['bookings:read', { ownership: 'booking' }]], { tenantId: 'consumers' }),
    role('combined', [
      [
        'vehicles:read',
        {
          all: [
            { attribute: 'vehicle.make', value: 'Volvo' },
            { any: [{ attribute: 'vehicle.year', in: [2020, 2021] }] },
          ],
        },
      ],
    ]),
  ]);
  const owner = (userId: string) => user([grant('owner')], 'consumers', 'consumer', userId);
  const mine = vehicle({ tenantId: 'consumers', ownerUserId: 'alice' });

  it('ownership of a vehicle: its owner, or a person it is shared with for that permission, while the share lasts', () => {
    expect(decide(snapshot, owner('alice'), 'vehicles:read', mine, NOW).allow).toBe(true);
    expect(decide(snapshot, owner('bob'), 'vehicles:read', mine, NOW)).toMatchObject({ allow: false });
    const shared = {
      ...mine,
      shares: [
        {
          granteeTenantId: 'consumers',
          granteeUserId: 'bob',
          permissions: ['vehicles:read'],
          validFrom: NOW - HOUR,
          validUntil: NOW + HOUR,
        },
      ],
    };
    expect(decide(snapshot, owner('bob'), 'vehicles:read', shared, NOW)).toEqual({
      allow: true,
      reason: 'role owner',
    });
    expect(decide(snapshot, owner('bob'), 'telemetry:read', shared, NOW).allow).toBe(false); // not in the share
    expect(decide(snapshot, owner('bob'), 'vehicles:read', shared, NOW + HOUR).allow).toBe(false); // ended
    expect(decide(snapshot, owner('carol'), 'vehicles:read', shared, NOW).allow).toBe(false);
    // A booking is not a vehicle, even with the right owner.
    expect(decide(snapshot, owner('alice'), 'vehicles:read', { ...mine, type: 'booking' }, NOW).allow).toBe(false);
  });

  it('attribute conditions compare paths and literals; missing values never match', () => {
    const staff = (id: string) => user([grant(id)]);
    expect(decide(snapshot, staff('same-tenant'), 'vehicles:read', vehicle(), NOW).allow).toBe(true);
    expect(
      decide(snapshot, staff('volvo-only'), 'vehicles:read', vehicle({ attributes: { make: 'Volvo' } }), NOW).allow,
    ).toBe(true);
    expect(
      decide(snapshot, staff('volvo-only'), 'vehicles:read', vehicle({ attributes: { make: 'Fiat' } }), NOW).allow,
    ).toBe(false);
    expect(decide(snapshot, staff('volvo-only'), 'vehicles:read', vehicle(), NOW).allow).toBe(false);
    const booking = (status: string): Resource => ({
      type: 'booking',
      id: 'b-1',
      tenantId: 'acme',
      attributes: { status },
    });
    expect(decide(snapshot, staff('open-bookings'), 'bookings:read', booking('open'), NOW).allow).toBe(true);
    expect(decide(snapshot, staff('open-bookings'), 'bookings:read', booking('closed'), NOW).allow).toBe(false);
    // The path names a vehicle: a booking with a make does not satisfy it.
    expect(
      decide(
        snapshot,
        staff('volvo-only'),
        'vehicles:read',
        { ...booking('open'), type: 'booking', attributes: { make: 'Volvo' } },
        NOW,
      ).allow,
    ).toBe(false);
    const combined = (make: string, year: number) => vehicle({ attributes: { make, year } });
    expect(decide(snapshot, staff('combined'), 'vehicles:read', combined('Volvo', 2021), NOW).allow).toBe(true);
    expect(decide(snapshot, staff('combined'), 'vehicles:read', combined('Volvo', 2019), NOW).allow).toBe(false);
    expect(decide(snapshot, staff('combined'), 'vehicles:read', combined('Fiat', 2021), NOW).allow).toBe(false);
  });

  it("ownership of a shop: the resource's shop is the grant's bound shop, else any shop of the user's organisation", () => {
    const booking = (shopId: string | null, tenantId = 'acme'): Resource => ({
      type: 'booking',
      id: 'b',
      tenantId,
      shopId,
    });
    const unbound = user([grant('shop')]);
    expect(decide(snapshot, unbound, 'bookings:read', booking(null), NOW).allow).toBe(true);
    expect(decide(snapshot, unbound, 'bookings:read', booking('acme-north'), NOW).allow).toBe(true);
    expect(decide(snapshot, unbound, 'bookings:read', booking('acme-south'), NOW).allow).toBe(true);
    // Another organisation's shop, whatever its id says.
    expect(decide(snapshot, unbound, 'bookings:read', booking('acme-north', 'globex'), NOW).allow).toBe(false);
    expect(decide(snapshot, unbound, 'bookings:read', booking(null, 'globex'), NOW).allow).toBe(false);
    const north = user([grant('shop', { resource: { type: 'shop', id: 'acme-north' } })]);
    expect(decide(snapshot, north, 'bookings:read', booking('acme-north'), NOW).allow).toBe(true);
    expect(decide(snapshot, north, 'bookings:read', booking('acme-south'), NOW).allow).toBe(false);
  });

  it('ownership of a booking: its customer, on the booking and the records hanging off it', () => {
    const booking: Resource = { type: 'booking', id: 'b', tenantId: 'consumers', ownerUserId: 'alice' };
    const as = (id: string) => user([grant('booking-owner')], 'consumers', 'consumer', id);
    expect(decide(snapshot, as('alice'), 'bookings:read', booking, NOW).allow).toBe(true);
    expect(decide(snapshot, as('bob'), 'bookings:read', booking, NOW).allow).toBe(false);
    for (const type of ['repair-order', 'estimate', 'parts-order', 'review']) {
      expect(decide(snapshot, as('alice'), 'bookings:read', { ...booking, type }, NOW).allow).toBe(true);
      expect(decide(snapshot, as('bob'), 'bookings:read', { ...booking, type }, NOW).allow).toBe(false);
    }
    // A vehicle is not owned through a booking, even with its owner's id on it.
    expect(decide(snapshot, as('alice'), 'bookings:read', { ...booking, type: 'vehicle' }, NOW).allow).toBe(false);
  });

  it('without a resource, a conditional permission is neither allowed nor refused outright', () => {
    expect(decide(snapshot, owner('alice'), 'vehicles:read', undefined, NOW)).toEqual({
      allow: false,
      conditional: true,
      reason: 'vehicles:read is held only for some resources',
    });
    expect(decide(snapshot, owner('alice'), 'dtc:read', undefined, NOW).conditional).toBeUndefined();
  });

  it('parses only the closed language', () => {
    const good: unknown[] = [
      { ownership: 'vehicle' },
      { attribute: 'vehicle.tenantId', equals: 'subject.tenantId' },
      { attribute: 'resource.shopId', value: 'north' },
      { attribute: 'booking.total', in: [1, 2, 3] },
      { any: [{ ownership: 'booking' }, { all: [{ ownership: 'shop' }] }] },
    ];
    for (const c of good) expect(parseCondition(c)).toEqual(c);
    const bad: unknown[] = [
      null,
      'ownership',
      [],
      {},
      { ownership: 'planet' },
      { ownership: 'vehicle', extra: 1 },
      { attribute: 'tenantId', equals: 'subject.tenantId' }, // not a path
      { attribute: 'subject.password', value: 'x' }, // no such subject field
      { attribute: 'vehicle.make', value: { $gt: 1 } },
      { attribute: 'vehicle.make', value: Number.NaN },
      { attribute: 'vehicle.make', in: [] },
      { attribute: 'vehicle.make' },
      { attribute: 'vehicle.make', value: 'a', equals: 'vehicle.model' },
      { all: [] },
      { any: Array.from({ length: 17 }, () => ({ ownership: 'vehicle' })) },
      { all: [{ all: [{ all: [{ all: [{ all: [{ all: [{ ownership: 'vehicle' }] }] }] }] }] }] },
      { code: 'return true' },
    ];
    for (const c of bad)
      expect(() => parseCondition(c), JSON.stringify(c)).toThrow(
        expect.objectContaining({ code: 'INVALID_CONDITION' }),
      );
  });
});

describe('time-bound grants', () => {
  const snapshot = compileSnapshot([role('temp', ['vehicles:read'])]);
  const end = NOW + 30_000;
  const temp = user([grant('temp', { validFrom: NOW - HOUR, validUntil: end })]);

  it('work from their start until the instant of their end, and say when that is', () => {
    expect(decide(snapshot, temp, 'vehicles:read', vehicle(), end - 1)).toEqual({
      allow: true,
      reason: 'role temp',
      until: end,
    });
    expect(decide(snapshot, temp, 'vehicles:read', vehicle(), end).allow).toBe(false);
    expect(decide(snapshot, temp, 'vehicles:read', undefined, end + 1).allow).toBe(false);
    const later = user([grant('temp', { validFrom: NOW + HOUR })]);
    expect(decide(snapshot, later, 'vehicles:read', vehicle(), NOW).allow).toBe(false);
    expect(decide(snapshot, later, 'vehicles:read', vehicle(), NOW + HOUR).allow).toBe(true);
    expect(grantActive({ validFrom: NOW, validUntil: NOW }, NOW)).toBe(false);
  });

  it('last as long as the longest grant that allows', () => {
    const both = user([
      grant('temp', { id: 'short', validUntil: NOW + 1000 }),
      grant('temp', { id: 'long', validUntil: NOW + 5000 }),
    ]);
    expect(decide(snapshot, both, 'vehicles:read', vehicle(), NOW).until).toBe(NOW + 5000);
    const forever = user([grant('temp', { id: 'short', validUntil: NOW + 1000 }), grant('temp', { id: 'ever' })]);
    expect(decide(snapshot, forever, 'vehicles:read', vehicle(), NOW).until).toBeUndefined();
  });
});

describe('tenant and platform roles', () => {
  const snapshot = compileSnapshot([
    role('acme-viewer', ['vehicles:read'], { tenantId: 'acme' }),
    role('tech', ['vehicles:read', 'dtc:read'], { tenantId: 'platform', grantableIn: ['partner'] }),
    role('staff', ['vehicles:read', 'telemetry:read'], { tenantId: 'platform', grantableIn: ['platform'] }),
    role('internal', ['vehicles:read'], { tenantId: 'platform' }),
  ]);

  it("uses a tenant's role only for its own users, and a template only in the kinds it is made for", () => {
    expect(decide(snapshot, user([grant('acme-viewer')]), 'vehicles:read', undefined, NOW).allow).toBe(true);
    expect(decide(snapshot, user([grant('acme-viewer')], 'globex'), 'vehicles:read', undefined, NOW).allow).toBe(false);
    expect(decide(snapshot, user([grant('tech')], 'globex'), 'dtc:read', undefined, NOW).allow).toBe(true);
    expect(decide(snapshot, user([grant('tech')], 'consumers'), 'dtc:read', undefined, NOW).allow).toBe(false);
    expect(decide(snapshot, user([grant('staff')], 'acme'), 'vehicles:read', undefined, NOW).allow).toBe(false);
    expect(decide(snapshot, user([grant('staff')], 'platform'), 'vehicles:read', undefined, NOW).allow).toBe(true);
    expect(decide(snapshot, user([grant('internal')], 'platform'), 'vehicles:read', undefined, NOW).allow).toBe(true);
    expect(decide(snapshot, user([grant('internal')], 'acme'), 'vehicles:read', undefined, NOW).allow).toBe(false);
    const internal = snapshot.roles.get('internal')!;
    expect(roleApplies(internal, 'platform', 'platform')).toBe(true);
  });

  it("keeps partner staff inside their tenant; platform staff reach every tenant's resources", () => {
    const globexCar = vehicle({ tenantId: 'globex' });
    expect(decide(snapshot, user([grant('tech')], 'acme'), 'dtc:read', globexCar, NOW)).toEqual({
      allow: false,
      reason: 'the resource belongs to another tenant and is not shared for this',
    });
    expect(decide(snapshot, user([grant('staff')], 'platform'), 'telemetry:read', globexCar, NOW).allow).toBe(true);
  });

  it("lets a shop's staff reach a vehicle shared with the shop, for the shared permissions, until the share ends", () => {
    const car = vehicle({
      tenantId: 'consumers',
      ownerUserId: 'alice',
      shares: [
        {
          granteeTenantId: 'acme',
          granteeUserId: null,
          permissions: ['dtc:read'],
          validFrom: NOW,
          validUntil: NOW + 1000,
        },
      ],
    });
    const tech = user([grant('tech')], 'acme');
    expect(decide(snapshot, tech, 'dtc:read', car, NOW)).toEqual({
      allow: true,
      reason: 'role tech',
      until: NOW + 1000,
    });
    expect(decide(snapshot, tech, 'vehicles:read', car, NOW).allow).toBe(false); // not shared
    expect(decide(snapshot, tech, 'dtc:read', car, NOW + 1000).allow).toBe(false);
    expect(decide(snapshot, user([grant('tech')], 'globex'), 'dtc:read', car, NOW).allow).toBe(false);
    // A share with one person of the shop is that person's only.
    const personal = { ...car, shares: [{ ...car.shares![0]!, granteeUserId: 'u-2' }] };
    expect(decide(snapshot, tech, 'dtc:read', personal, NOW).allow).toBe(false);
    expect(decide(snapshot, user([grant('tech')], 'acme', 'partner', 'u-2'), 'dtc:read', personal, NOW).allow).toBe(
      true,
    );
  });

  it('applies a grant bound to a resource to that resource and what belongs to it only', () => {
    const bound = user([grant('acme-viewer', { resource: { type: 'vehicle', id: 'v-1' } })]);
    expect(decide(snapshot, bound, 'vehicles:read', vehicle(), NOW).allow).toBe(true);
    expect(decide(snapshot, bound, 'vehicles:read', vehicle({ id: 'v-2' }), NOW).allow).toBe(false);
    expect(decide(snapshot, bound, 'vehicles:read', undefined, NOW).conditional).toBe(true);
    expect(
      bindingMatches(
        { type: 'vehicle', id: 'v-1' },
        { type: 'booking', id: 'b', tenantId: 'acme', attributes: { vehicleId: 'v-1' } },
      ),
    ).toBe(true);
    expect(bindingMatches({ type: 'tenant', id: 'acme' }, vehicle())).toBe(true);
    expect(bindingMatches({ type: 'shop', id: 'north' }, vehicle({ shopId: 'north' }))).toBe(true);
    expect(bindingMatches({ type: 'shop', id: 'north' }, vehicle())).toBe(false);
  });
});

describe('API keys and administrators', () => {
  const key: Subject = { kind: 'api-key', tenantId: 'acme', keyId: 'k', scopes: ['telemetry:read'] };

  it("maps a key's scopes onto permissions of its tenant; every key may see its vehicles", () => {
    const snapshot = compileSnapshot([]);
    expect(decide(snapshot, key, 'telemetry:read', undefined, NOW).allow).toBe(true);
    expect(decide(snapshot, key, 'vehicles:read', vehicle(), NOW).allow).toBe(true);
    expect(decide(snapshot, key, 'dtc:read', undefined, NOW)).toEqual({
      allow: false,
      reason: 'the API key lacks the dtc:read scope',
    });
    expect(decide(snapshot, key, 'telemetry:read', vehicle({ tenantId: 'globex' }), NOW).allow).toBe(false);
    const shared = vehicle({
      tenantId: 'consumers',
      shares: [
        {
          granteeTenantId: 'acme',
          granteeUserId: null,
          permissions: ['telemetry:read'],
          validFrom: 0,
          validUntil: NOW + 1,
        },
      ],
    });
    expect(decide(snapshot, key, 'telemetry:read', shared, NOW)).toEqual({
      allow: true,
      reason: 'API key scope telemetry:read',
      until: NOW + 1,
    });
    expect(decide(snapshot, { kind: 'admin' }, 'roles:grant', vehicle({ tenantId: 'x' }), NOW).allow).toBe(true);
  });
});

describe('no escalation', () => {
  const snapshot = compileSnapshot([
    role('admin', ['roles:write', 'roles:grant', 'vehicles:read', ['telemetry:read', { ownership: 'shop' }]]),
    role('reader', ['vehicles:read']),
  ]);
  const admin = user([grant('admin')]);

  it('finds every rule the actor does not hold at least as broadly', () => {
    expect(uncoveredRules(snapshot, admin, [{ permission: 'vehicles:read', condition: null }], NOW)).toEqual([]);
    expect(
      uncoveredRules(snapshot, admin, [{ permission: 'vehicles:read', condition: { ownership: 'vehicle' } }], NOW),
    ).toEqual([]); // narrower than what it holds
    expect(
      uncoveredRules(snapshot, admin, [{ permission: 'telemetry:read', condition: { ownership: 'shop' } }], NOW),
    ).toEqual([]);
    expect(uncoveredRules(snapshot, admin, [{ permission: 'telemetry:read', condition: null }], NOW)).toEqual([
      { permission: 'telemetry:read', condition: null },
    ]);
    expect(uncoveredRules(snapshot, admin, [{ permission: 'dtc:read', condition: null }], NOW)).toHaveLength(1);
    // A bound or ended grant covers nothing.
    const bound = user([grant('admin', { resource: { type: 'shop', id: 'x' } })]);
    expect(uncoveredRules(snapshot, bound, [{ permission: 'vehicles:read', condition: null }], NOW)).toHaveLength(1);
    const ended = user([grant('admin', { validUntil: NOW })]);
    expect(uncoveredRules(snapshot, ended, [{ permission: 'vehicles:read', condition: null }], NOW)).toHaveLength(1);
    expect(uncoveredRules(snapshot, { kind: 'admin' }, [{ permission: 'dtc:read', condition: null }], NOW)).toEqual([]);
  });
});

describe('built-in roles', () => {
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

  it('name only catalogue permissions and built-in parents; the platform admin holds everything', () => {
    const keys = new Set(BUILT_IN_ROLES.map((r) => r.key));
    for (const r of BUILT_IN_ROLES) {
      for (const p of r.permissions) expect(PERMISSION_NAMES).toContain(p.permission);
      for (const parent of r.parents) expect(keys).toContain(parent);
    }
    const platformAdmin = user([grant('platform-admin')], 'platform');
    for (const p of PERMISSION_NAMES) expect(decide(snapshot, platformAdmin, p, undefined, NOW).allow).toBe(true);
  });

  it('give a partner admin what its staff roles give, and an owner only their own cars', () => {
    const partnerAdmin = user([grant('partner-admin')]);
    for (const p of ['commands:write', 'dtc:read', 'location:read', 'roles:grant'])
      expect(decide(snapshot, partnerAdmin, p, vehicle(), NOW).allow, p).toBe(true);
    expect(decide(snapshot, partnerAdmin, 'tenants:write', undefined, NOW).allow).toBe(false);
    const owner = user([grant('owner')], 'consumers', 'consumer', 'alice');
    const car = vehicle({ tenantId: 'consumers', ownerUserId: 'alice' });
    expect(decide(snapshot, owner, 'commands:write', car, NOW).allow).toBe(true);
    expect(decide(snapshot, owner, 'commands:write', { ...car, ownerUserId: 'bob' }, NOW).allow).toBe(false);
    expect(decide(snapshot, user([grant('owner')], 'acme'), 'vehicles:read', vehicle(), NOW).allow).toBe(false);
  });
});

/** mulberry32: a small seeded generator, so a failing case can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The reference: no snapshot, no flattening; for each grant it walks the role's ancestors from the
 * stored definitions (with a visited set) at every decision, as the rules read in words.
 */
function naiveDecide(
  roles: readonly RoleDefinition[],
  subject: Extract<Subject, { kind: 'user' }>,
  permission: string,
  resource: Resource | undefined,
  now: number,
): { allow: boolean; conditional: boolean } {
  const byId = new Map(roles.map((r) => [r.id, r]));
  if (resource && resource.tenantId !== subject.tenantId && subject.tenantId !== 'platform') {
    const reachable = (resource.shares ?? []).some(
      (s) =>
        s.granteeTenantId === subject.tenantId &&
        (s.granteeUserId === null || s.granteeUserId === subject.userId) &&
        s.permissions.includes(permission) &&
        s.validFrom <= now &&
        now < s.validUntil,
    );
    if (!reachable) return { allow: false, conditional: false };
  }
  let conditional = false;
  for (const g of subject.grants) {
    if (!(g.validFrom <= now && (g.validUntil === null || now < g.validUntil))) continue;
    const root = byId.get(g.roleId);
    if (!root) continue;
    const usable =
      root.tenantId === subject.tenantId ||
      (root.tenantId === 'platform' && (root.grantableIn ?? []).includes(subject.tenantKind));
    if (!usable) continue;
    const visited = new Set<string>();
    const walk = (id: string): { condition: Condition | null }[] => {
      if (visited.has(id)) return [];
      visited.add(id);
      const r = byId.get(id);
      if (!r) return [];
      return [...r.permissions.filter((p) => p.permission === permission), ...r.parents.flatMap(walk)];
    };
    const rules = walk(root.id);
    if (rules.length === 0) continue;
    if (!resource) {
      if (g.resource === null && rules.some((r) => r.condition === null)) return { allow: true, conditional: false };
      conditional = true;
      continue;
    }
    if (g.resource !== null && !bindingMatches(g.resource, resource)) continue;
    const ctx = { subject, resource, grant: g, permission, now };
    if (rules.some((r) => r.condition === null || evaluateCondition(r.condition, ctx)))
      return { allow: true, conditional: false };
  }
  return { allow: false, conditional };
}

describe('property: decide equals the naive reference on random role graphs', () => {
  const PERMS = ['vehicles:read', 'telemetry:read', 'dtc:read', 'commands:write', 'roles:read'];
  const CONDITIONS: Condition[] = [
    { ownership: 'vehicle' },
    { ownership: 'shop' },
    { attribute: 'vehicle.make', value: 'Volvo' },
    { attribute: 'resource.tenantId', equals: 'subject.tenantId' },
    { any: [{ ownership: 'vehicle' }, { attribute: 'vehicle.make', in: ['Fiat', 'Kia'] }] },
  ];
  const TENANTS = ['acme', 'globex', 'consumers', 'platform'];
  const KIND: Record<string, TenantKind> = {
    acme: 'partner',
    globex: 'partner',
    consumers: 'consumer',
    platform: 'platform',
  };
  const USERS = ['u-1', 'u-2'];
  const seen = { allow: 0, deny: 0, conditional: 0 };

  it.each(Array.from({ length: 40 }, (_, i) => 1000 + i))('seed %i', (seed) => {
    const random = rng(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const n = 2 + Math.floor(random() * 40);
    const roles: RoleDefinition[] = Array.from({ length: n }, (_, i) => {
      const tenantId = pick(TENANTS);
      const platformTemplate = tenantId === 'platform' && random() < 0.7;
      return role(
        `r${i}`,
        PERMS.filter(() => random() < 0.25).map((p) => (random() < 0.4 ? [p, pick(CONDITIONS)] : p)),
        {
          tenantId,
          grantableIn: platformTemplate
            ? (['partner', 'consumer', 'platform'] as TenantKind[]).filter(() => random() < 0.6)
            : null,
          // Mostly a DAG (parents among earlier roles), sometimes an edge back: cycles included.
          parents: Array.from(
            { length: Math.floor(random() * 3) },
            () => `r${Math.floor(random() * (random() < 0.1 ? n : i + 1))}`,
          ).filter((p, k, all) => all.indexOf(p) === k && p !== `r${i}`),
        },
      );
    });
    const snapshot = compileSnapshot(roles);
    for (let s = 0; s < 30; s++) {
      const tenantId = pick(TENANTS);
      const subject = {
        kind: 'user' as const,
        userId: pick(USERS),
        tenantId,
        tenantKind: KIND[tenantId]!,
        grants: Array.from({ length: 1 + Math.floor(random() * 4) }, (_, k) => ({
          id: `g${k}`,
          roleId: `r${Math.floor(random() * (n + 1))}`, // sometimes a role that does not exist
          validFrom: NOW - (random() < 0.8 ? HOUR : -HOUR),
          validUntil: random() < 0.3 ? NOW - 1 : random() < 0.5 ? NOW + HOUR : null,
          resource: random() < 0.2 ? { type: 'vehicle', id: pick(['v-1', 'v-2']) } : null,
        })),
      };
      for (let d = 0; d < 10; d++) {
        const permission = pick(PERMS);
        const resource: Resource | undefined =
          random() < 0.25
            ? undefined
            : {
                type: pick(['vehicle', 'vehicle', 'booking']),
                id: pick(['v-1', 'v-2']),
                tenantId: pick(TENANTS),
                ownerUserId: pick([...USERS, null]),
                shopId: pick(['acme', 'north', null]),
                attributes: { make: pick(['Volvo', 'Fiat', 'Audi']) },
                shares:
                  random() < 0.4
                    ? [
                        {
                          granteeTenantId: pick(TENANTS),
                          granteeUserId: pick([...USERS, null]),
                          permissions: PERMS.filter(() => random() < 0.5),
                          validFrom: NOW - HOUR,
                          validUntil: random() < 0.8 ? NOW + HOUR : NOW,
                        },
                      ]
                    : [],
              };
        const fast = decide(snapshot, subject, permission, resource, NOW);
        const slow = naiveDecide(roles, subject, permission, resource, NOW);
        const context = JSON.stringify({ seed, subject, permission, resource });
        expect(fast.allow, context).toBe(slow.allow);
        expect(fast.conditional === true, context).toBe(slow.conditional && !slow.allow);
        seen[fast.allow ? 'allow' : fast.conditional ? 'conditional' : 'deny'] += 1;
      }
    }
  });

  it('exercised every outcome (the generator is not degenerate)', () => {
    expect(seen.allow).toBeGreaterThan(500);
    expect(seen.deny).toBeGreaterThan(500);
    expect(seen.conditional).toBeGreaterThan(50);
  });
});

describe('evaluateCondition is what decide uses', () => {
  it('is exported for tests and tools, and grantActive is exclusive at the end', () => {
    const subject = user([]) as Extract<Subject, { kind: 'user' }>;
    expect(
      evaluateCondition(
        { attribute: 'subject.tenantKind', value: 'partner' },
        { subject, resource: vehicle(), grant: grant('x'), permission: 'vehicles:read', now: NOW },
      ),
    ).toBe(true);
  });
});
