import type { Condition } from './conditions.js';
import { PERMISSION_NAMES, type Permission } from './permissions.js';
import type { TenantKind } from './policy.js';

export interface BuiltInRole {
  key: string;
  name: string;
  description: string;
  /** The kinds of tenant whose users may hold it (every built-in role is a platform template). */
  grantableIn: readonly TenantKind[];
  /** Keys of the built-in roles it inherits from. */
  parents: readonly string[];
  permissions: readonly { permission: Permission; condition: Condition | null }[];
}

const always = (...names: Permission[]) => names.map((permission) => ({ permission, condition: null }));
const when = (condition: Condition, ...names: Permission[]) => names.map((permission) => ({ permission, condition }));

/**
 * The roles every deployment starts with, seeded by db/migrations/023_rbac.sql (a test keeps the
 * two equal). They belong to the platform and are templates: a partner's users are granted
 * `technician` as it is here, and a partner admin who wants a variant creates a role of the tenant
 * that inherits from it. Built-in roles cannot be edited or deleted through the API.
 *
 * Unconditional permissions of a partner role reach the partner's own vehicles and those shared with
 * it; the owner's reach only the owner's own vehicles (and those shared with them in person).
 */
export const BUILT_IN_ROLES: readonly BuiltInRole[] = [
  {
    key: 'owner',
    name: 'Car owner',
    description: 'Sees and controls their own vehicles, shares them with shops, books and pays for repairs',
    grantableIn: ['consumer'],
    parents: [],
    permissions: [
      ...when(
        { ownership: 'vehicle' },
        'vehicles:read',
        'telemetry:read',
        'location:read',
        'dtc:read',
        'status:read',
        'commands:write',
        'vehicle-shares:read',
        'vehicle-shares:write',
      ),
      ...when(
        { ownership: 'booking' },
        'bookings:read',
        'bookings:write',
        'repair-orders:read',
        'estimates:approve',
        'reviews:write',
        'payments:read',
        'payments:write',
        'wallet:read',
        'wallet:write',
        'chat:read',
        'chat:write',
      ),
    ],
  },
  {
    key: 'technician',
    name: 'Technician',
    description: "Works on the shop's vehicles and those shared with it: data, trouble codes, commands",
    grantableIn: ['partner'],
    parents: [],
    permissions: [
      ...always('vehicles:read', 'telemetry:read', 'dtc:read', 'status:read', 'commands:write'),
      ...when(
        { ownership: 'shop' },
        'bookings:read',
        'repair-orders:read',
        'repair-orders:write',
        'estimates:write',
        'parts-orders:read',
        'parts-orders:write',
        'chat:read',
        'chat:write',
      ),
    ],
  },
  {
    key: 'parts-clerk',
    name: 'Parts clerk',
    description: "Sees vehicles and their trouble codes to find parts, and the shop's bookings",
    grantableIn: ['partner'],
    parents: [],
    permissions: [
      ...always('vehicles:read', 'dtc:read'),
      ...when(
        { ownership: 'shop' },
        'bookings:read',
        'repair-orders:read',
        'parts-orders:read',
        'parts-orders:write',
        'chat:read',
        'chat:write',
      ),
    ],
  },
  {
    key: 'fleet-manager',
    name: 'Fleet manager',
    description: "Runs the organisation's vehicles: live data, locations, commands, shares and bookings",
    grantableIn: ['partner'],
    parents: [],
    permissions: always(
      'vehicles:read',
      'telemetry:read',
      'location:read',
      'dtc:read',
      'status:read',
      'commands:write',
      'vehicle-shares:read',
      'vehicle-shares:write',
      'bookings:read',
      'bookings:write',
      'repair-orders:read',
      'estimates:approve',
      'payments:read',
      'payments:write',
      'wallet:read',
      'wallet:write',
      'chat:read',
      'chat:write',
    ),
  },
  {
    key: 'partner-admin',
    name: 'Partner administrator',
    description: "Everything the organisation's staff do, plus its people, roles, keys and audit trail",
    grantableIn: ['partner'],
    parents: ['fleet-manager', 'technician', 'parts-clerk'],
    permissions: always(
      'notifications:send',
      'roles:read',
      'roles:write',
      'roles:grant',
      'users:read',
      'users:write',
      'sessions:read',
      'sessions:revoke',
      'api-keys:read',
      'api-keys:write',
      'devices:read',
      'dead-letters:read',
      'ai:read',
      'security-reports:read',
      'partners:write',
      'reviews:answer',
      'payments:write',
      'payments:refund',
      'commissions:read',
    ),
  },
  {
    key: 'support',
    name: 'Support',
    description: 'Platform staff who help customers: reads across organisations, signs sessions out',
    grantableIn: ['platform'],
    parents: [],
    permissions: always(
      'vehicles:read',
      'telemetry:read',
      'dtc:read',
      'status:read',
      'devices:read',
      'api-keys:read',
      'tenants:read',
      'dead-letters:read',
      'ai:read',
      'users:read',
      'sessions:read',
      'sessions:revoke',
      'roles:read',
      'vehicle-shares:read',
      'security-reports:read',
      'bookings:read',
      'repair-orders:read',
      'parts-orders:read',
      'payments:read',
      'wallet:read',
      'commissions:read',
      'fraud:read',
      'chat:read',
      'chat:moderate',
    ),
  },
  {
    key: 'platform-admin',
    name: 'Platform administrator',
    description: 'Every permission, on every organisation',
    grantableIn: ['platform'],
    parents: ['support'],
    permissions: always(...PERMISSION_NAMES),
  },
];
