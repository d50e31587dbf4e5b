import type { LiveEventBus } from '@clutch/contracts';
import type { Queryable } from '@clutch/db';
import { parseCondition, type Condition } from './conditions.js';
import {
  compileSnapshot,
  decide,
  EMPTY_SNAPSHOT,
  type Decision,
  type Grant,
  type PolicySnapshot,
  type Resource,
  type RoleDefinition,
  type Subject,
  type TenantKind,
} from './policy.js';

/** Who asks, as the API and the broker know callers; users' grants are looked up by the store. */
export type SubjectRef =
  | { kind: 'admin' }
  | { kind: 'partner'; tenantId: string; keyId: string; scopes: readonly string[] }
  | { kind: 'api-key'; tenantId: string; keyId: string; scopes: readonly string[] }
  | { kind: 'user'; userId: string; tenantId: string };

export interface PolicyStoreOptions {
  /** Read as the platform (every tenant's roles): the owner connection, never a tenant scope. */
  db: Queryable;
  /** `roles-changed` events on it drop what changed, in every process that shares the bus. */
  bus?: LiveEventBus | undefined;
  /**
   * Longest a compiled snapshot or a user's grants are kept without an event saying they changed
   * (a safety net for an event lost between processes). Default 60 s.
   */
  maxAgeMs?: number | undefined;
  /** Users whose grants are kept (least recently used forgotten). Default 10,000. */
  maxUsers?: number | undefined;
  /** The clock decisions use (tests move it); default Date.now. */
  clock?: (() => number) | undefined;
}

export interface PolicyStore {
  /** The compiled snapshot: loaded on first use, again after a change or when older than maxAgeMs. */
  snapshot(): Promise<PolicySnapshot>;
  /** The subject for a caller: a user with their grants (cached), a key with its scopes. */
  subject(who: SubjectRef): Promise<Subject>;
  /** `decide` on the current snapshot, at the store's clock. */
  decide(who: SubjectRef, permission: string, resource?: Resource): Promise<Decision>;
  /** The clock decisions are taken at. */
  now(): number;
  /** Forget a user's grants (a grant changed), or everything (a role changed). */
  invalidate(change?: { userId?: string | undefined }): void;
  /** Stops listening to the bus. */
  close(): void;
}

interface RoleRow {
  id: string;
  tenant_id: string;
  key: string;
  name: string;
  description: string;
  built_in: boolean;
  grantable_in: string[] | null;
  parents: string[] | null;
  permissions: { permission: string; condition: unknown }[] | string | null;
}

const asJson = <T>(v: T | string | null): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

/** A stored condition that no longer parses gives nothing (never allows) rather than failing every decision. */
function storedCondition(raw: unknown): Condition | null | undefined {
  if (raw === null || raw === undefined) return null;
  try {
    return parseCondition(raw);
  } catch {
    return undefined;
  }
}

/** Every role of every tenant with its parents and own permissions, as RoleDefinitions. */
export async function loadRoleDefinitions(q: Queryable): Promise<RoleDefinition[]> {
  const { rows } = await q.query<RoleRow>(
    `SELECT r.id::text AS id, r.tenant_id, r.key, r.name, r.description, r.built_in, r.grantable_in,
            (SELECT array_agg(p.parent_id::text ORDER BY p.parent_id) FROM role_parents p WHERE p.role_id = r.id) AS parents,
            (SELECT jsonb_agg(jsonb_build_object('permission', rp.permission, 'condition', rp.condition) ORDER BY rp.permission)
               FROM role_permissions rp WHERE rp.role_id = r.id) AS permissions
       FROM roles r`,
  );
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    key: r.key,
    name: r.name,
    description: r.description,
    builtIn: r.built_in,
    grantableIn: (r.grantable_in as TenantKind[] | null) ?? null,
    parents: r.parents ?? [],
    permissions: (asJson(r.permissions) ?? []).flatMap((p) => {
      const condition = storedCondition(p.condition);
      return condition === undefined ? [] : [{ permission: p.permission, condition }];
    }),
  }));
}

interface UserGrants {
  tenantId: string;
  tenantKind: TenantKind;
  grants: Grant[];
}

/** A user's tenant, its kind and the grants not yet ended; no grants for a user who is not active. */
export async function loadUserGrants(q: Queryable, userId: string): Promise<UserGrants | undefined> {
  const { rows } = await q.query<{
    tenant_id: string;
    kind: TenantKind;
    status: string;
    id: string | null;
    role_id: string | null;
    valid_from: Date | string | null;
    valid_until: Date | string | null;
    resource_type: string | null;
    resource_id: string | null;
  }>(
    `SELECT u.tenant_id, t.kind, u.status, g.id::text AS id, g.role_id::text AS role_id, g.valid_from, g.valid_until,
            g.resource_type, g.resource_id
       FROM users u
       JOIN tenants t ON t.id = u.tenant_id
       LEFT JOIN role_grants g ON g.user_id = u.id AND g.tenant_id = u.tenant_id
                              AND (g.valid_until IS NULL OR g.valid_until > now())
      WHERE u.id = $1`,
    [userId],
  );
  const first = rows[0];
  if (!first) return undefined;
  const grants =
    first.status !== 'active'
      ? []
      : rows
          .filter((r) => r.id !== null)
          .map((r) => ({
            id: r.id!,
            roleId: r.role_id!,
            validFrom: new Date(r.valid_from!).getTime(),
            validUntil: r.valid_until === null ? null : new Date(r.valid_until).getTime(),
            resource:
              r.resource_type !== null && r.resource_id !== null ? { type: r.resource_type, id: r.resource_id } : null,
          }));
  return { tenantId: first.tenant_id, tenantKind: first.kind, grants };
}

/**
 * Loads and caches what the policy function reads: the compiled snapshot (the role graph
 * flattened once per load, not per decision) and each user's grants. A `roles-changed` event on the
 * bus (every process hears it; Redis pub/sub when scaled out) drops the snapshot, or one user's
 * grants; the process that made the change also calls `invalidate` itself right after its commit.
 * Time bounds are not cached away: grants keep their validity and `decide` compares it with the
 * clock at every decision.
 *
 * A load that started before an invalidation is used for the request that waited for it but not
 * kept, so a change committed while a snapshot was being read is never hidden behind it.
 */
export function createPolicyStore(options: PolicyStoreOptions): PolicyStore {
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const maxUsers = options.maxUsers ?? 10_000;
  const clock = options.clock ?? Date.now;

  // Every invalidation bumps `epoch`; a load remembers the epoch it started at and is kept only
  // when nothing it could have missed was invalidated since.
  let epoch = 0;
  let allAt = 0;
  let forgottenAt = 0;
  const userAt = new Map<string, number>();
  let cached: PolicySnapshot | undefined;
  let loading: { promise: Promise<PolicySnapshot>; started: number } | undefined;
  const users = new Map<string, { value: UserGrants | undefined; at: number }>();

  async function snapshot(): Promise<PolicySnapshot> {
    if (cached && clock() - cached.loadedAt < maxAgeMs) return cached;
    if (loading && loading.started >= allAt) return loading.promise;
    const started = epoch;
    const promise = loadRoleDefinitions(options.db).then((roles) => compileSnapshot(roles, clock()));
    loading = { promise, started };
    try {
      const loaded = await promise;
      if (started >= allAt) cached = loaded;
      return loaded;
    } finally {
      if (loading?.promise === promise) loading = undefined;
    }
  }

  async function grantsOf(userId: string): Promise<UserGrants | undefined> {
    const hit = users.get(userId);
    if (hit && clock() - hit.at < maxAgeMs) {
      users.delete(userId);
      users.set(userId, hit); // most recently used last
      return hit.value;
    }
    const started = epoch;
    const at = clock();
    const value = await loadUserGrants(options.db, userId);
    if (started >= allAt && started >= forgottenAt && started >= (userAt.get(userId) ?? 0)) {
      users.delete(userId);
      users.set(userId, { value, at });
      while (users.size > maxUsers) users.delete(users.keys().next().value!);
    }
    return value;
  }

  async function subject(who: SubjectRef): Promise<Subject> {
    if (who.kind === 'admin') return { kind: 'admin' };
    if (who.kind === 'partner' || who.kind === 'api-key')
      return { kind: 'api-key', tenantId: who.tenantId, keyId: who.keyId, scopes: who.scopes };
    const found = await grantsOf(who.userId);
    // A token for a user the database no longer knows, or of another tenant, holds nothing.
    const grants = found && found.tenantId === who.tenantId ? found.grants : [];
    return {
      kind: 'user',
      userId: who.userId,
      tenantId: who.tenantId,
      tenantKind: found?.tenantKind ?? 'consumer',
      grants,
    };
  }

  function invalidate(change: { userId?: string | undefined } = {}): void {
    epoch += 1;
    if (change.userId !== undefined) {
      users.delete(change.userId);
      userAt.delete(change.userId);
      userAt.set(change.userId, epoch);
      while (userAt.size > maxUsers) {
        const [oldest, at] = userAt.entries().next().value!;
        userAt.delete(oldest);
        forgottenAt = Math.max(forgottenAt, at);
      }
      return;
    }
    allAt = epoch;
    cached = undefined;
    users.clear();
    userAt.clear();
  }

  const unsubscribe = options.bus?.subscribe((event) => {
    if (event.type === 'roles-changed') invalidate(event.userId !== undefined ? { userId: event.userId } : {});
  });

  return {
    snapshot,
    subject,
    async decide(who, permission, resource) {
      // Keys and administrators hold no roles: no snapshot to load for them.
      const [snap, subj] = await Promise.all([who.kind === 'user' ? snapshot() : EMPTY_SNAPSHOT, subject(who)]);
      return decide(snap, subj, permission, resource, clock());
    },
    now: clock,
    invalidate,
    close: () => unsubscribe?.(),
  };
}
