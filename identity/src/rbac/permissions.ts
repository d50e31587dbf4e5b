import { API_KEY_SCOPES } from '../api-keys/api-keys.js';

/**
 * Whether a permission names something the platform has: `active` ones do (docs/rbac.md says which
 * door checks each today; some routes are still for the admin token only), `planned` ones name the
 * domains coming next (bookings, payments, chat) so roles can be written for them now, and are
 * checked by nothing yet.
 */
export type PermissionStatus = 'active' | 'planned';

export interface PermissionInfo {
  /** One line, for the roles page and docs/rbac.md. */
  readonly description: string;
  readonly status: PermissionStatus;
}

/**
 * Every permission there is, `resource:action`: the one catalogue roles, API-key scopes, the REST
 * routes, Socket.io rooms and the MQTT broker name. A name not listed here is refused wherever one
 * is stored (roles, shares, keys), so a typo cannot become a permission nobody checks.
 *
 * Today's API-key scopes are permissions of the same name (`telemetry:read`, ...): a partner key's
 * scopes are simply the permissions its tenant gave it.
 */
export const PERMISSIONS = {
  'vehicles:read': { description: 'List vehicles and see one with its devices and presence', status: 'active' },
  'telemetry:read': {
    description: 'Read live and stored telemetry, trips, alerts, health, data quality and AI predictions',
    status: 'active',
  },
  'location:read': { description: 'Read location history and live positions', status: 'active' },
  'location:write': { description: 'Post a GPS fix for a vehicle over HTTP', status: 'active' },
  'dtc:read': { description: 'Read trouble codes and diagnostics', status: 'active' },
  'status:read': { description: 'Receive device presence (online, offline) and status topics', status: 'active' },
  'commands:write': {
    description: "Send commands to a vehicle's gateway (read or clear trouble codes) and read their results",
    status: 'active',
  },
  'devices:read': { description: 'List gateways and their credentials (never the secrets)', status: 'active' },
  'devices:write': { description: 'Provision gateways, rotate and revoke their credentials', status: 'active' },
  'api-keys:read': { description: 'List partner API keys (never the secrets)', status: 'active' },
  'api-keys:write': { description: 'Create and revoke partner API keys', status: 'active' },
  'tenants:read': { description: 'See organisations (tenants)', status: 'active' },
  'tenants:write': { description: 'Create organisations (tenants)', status: 'active' },
  'dead-letters:read': { description: 'List messages ingest could not store, with the reason', status: 'active' },
  'dead-letters:replay': { description: 'Replay a dead letter through ingest', status: 'active' },
  'ai:read': { description: 'See the ML models and their measured performance', status: 'active' },
  'ai:write': { description: 'Deploy and retrain ML models, and follow the retrain jobs', status: 'active' },
  'security-reports:read': { description: 'Read the audit log and export it', status: 'active' },
  'roles:read': { description: 'See roles, their permissions and who holds them', status: 'active' },
  'roles:write': { description: 'Create, change and delete roles', status: 'active' },
  'roles:grant': { description: 'Grant roles to users and take them away', status: 'active' },
  'users:read': { description: 'See the people of the organisation', status: 'active' },
  'users:write': { description: 'Invite people, change and disable their accounts', status: 'active' },
  'sessions:read': { description: "See other people's signed-in sessions", status: 'active' },
  'sessions:revoke': { description: "Sign other people's sessions out", status: 'active' },
  'vehicle-shares:read': { description: 'See with whom a vehicle is shared', status: 'active' },
  'vehicle-shares:write': {
    description: 'Share a vehicle with a shop or a person for a time, and end a share',
    status: 'active',
  },
  'partners:write': {
    description: "Edit the shop's profile, opening hours, services and prices, parts catalogue and capacity",
    status: 'active',
  },
  'bookings:read': { description: 'See repair bookings', status: 'active' },
  'bookings:write': { description: 'Book, move and cancel repairs', status: 'active' },
  'repair-orders:read': { description: 'See repair orders, their history and their estimates', status: 'active' },
  'repair-orders:write': {
    description: 'Move a repair order through its lifecycle: check-in, diagnosis, work, quality check, delivery',
    status: 'active',
  },
  'estimates:write': { description: 'Write estimates and supplemental estimates and send them', status: 'active' },
  'estimates:approve': { description: "Approve or decline an estimate's lines", status: 'active' },
  'parts-orders:read': { description: 'See parts orders between repair centers and parts shops', status: 'active' },
  'parts-orders:write': { description: 'Order parts, and accept, ship and deliver parts orders', status: 'active' },
  'reviews:write': { description: 'Review a shop after a delivered repair', status: 'active' },
  'reviews:answer': { description: "Answer reviews of the organisation's shops", status: 'active' },
  'payments:read': { description: 'See payments, holds, installment plans, receipts and invoices', status: 'active' },
  'payments:write': {
    description: 'Pay: hold at booking, capture at delivery, installment plans, early payoff',
    status: 'active',
  },
  'payments:refund': { description: 'Refund a payment, in full or in part', status: 'active' },
  'wallet:read': { description: 'See a wallet: balance, holds and history', status: 'active' },
  'wallet:write': { description: 'Open a wallet, hold, release and transfer money from it', status: 'active' },
  'commissions:read': {
    description: "See commissions, payouts and payout statements of the organisation's shops",
    status: 'active',
  },
  'commissions:write': { description: 'Set commission tiers and run payouts to partners', status: 'active' },
  'fraud:read': { description: 'See risk decisions, fraud alerts and reports', status: 'active' },
  'fraud:write': {
    description: 'Review fraud alerts, block and unblock accounts, cards and devices',
    status: 'active',
  },
  'chat:read': { description: 'Read chat conversations and their attachments', status: 'active' },
  'chat:write': {
    description: 'Open chat rooms, write, mark read, report messages and delete your own',
    status: 'active',
  },
  'chat:moderate': {
    description: "Review reported chat messages and delete anyone's message",
    status: 'active',
  },
  'notifications:send': {
    description: "Send and schedule notifications to the organisation's users",
    status: 'active',
  },
} as const satisfies Record<string, PermissionInfo>;

export type Permission = keyof typeof PERMISSIONS;

/** Every permission name, in catalogue order. */
export const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[];

export const isPermission = (name: unknown): name is Permission =>
  typeof name === 'string' && Object.hasOwn(PERMISSIONS, name);

/**
 * API-key scopes are permissions. Typed so that a scope missing from the catalogue does not compile.
 */
export const API_KEY_PERMISSIONS: readonly Permission[] = API_KEY_SCOPES satisfies readonly Permission[];

/**
 * What every partner key may do besides its scopes: what any key always could, since those routes
 * were open to every authenticated caller: list and see its tenant's vehicles, list its tenant's
 * dead letters, and see the ML models (the model registry is the platform's, not a tenant's).
 */
export const API_KEY_IMPLIED_PERMISSIONS: readonly Permission[] = ['vehicles:read', 'dead-letters:read', 'ai:read'];

/**
 * What a vehicle share may hand to a shop or a person: reading the vehicle and its data, and
 * commands (a workshop reads and clears trouble codes). Never administration (shares, keys, roles).
 */
export const SHAREABLE_PERMISSIONS: readonly Permission[] = [
  'vehicles:read',
  'telemetry:read',
  'location:read',
  'dtc:read',
  'status:read',
  'commands:write',
];
