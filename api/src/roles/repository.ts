import type { Queryable } from '@clutch/db';
import type { Condition } from '@clutch/identity';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';

export interface RoleRow {
  id: string;
  tenant_id: string;
  key: string;
  name: string;
  description: string;
  built_in: boolean;
  grantable_in: string[] | null;
  parents: { id: string; key: string }[] | string | null;
  permissions: { permission: string; condition: Condition | null }[] | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface GrantRow {
  id: string;
  tenant_id: string;
  user_id: string;
  role_id: string;
  role_key: string;
  role_name: string;
  resource_type: string | null;
  resource_id: string | null;
  valid_from: Date | string;
  valid_until: Date | string | null;
  granted_by: string;
  created_at: Date | string;
  active: boolean;
}

/** Roles by key (what a person looks for); the id breaks ties between tenants' roles of the same key. */
export const ROLES_LISTING: Listing = {
  name: 'roles',
  key: 'key',
  keyType: 'text',
  id: 'id',
  idType: 'uuid',
  order: 'asc',
};

/** A user's grants, newest first (GET /api/users/:id/roles). */
export const GRANTS_LISTING: Listing = { name: 'role-grants', key: 'created_at', id: 'id', idType: 'text' };

// Parents by key and own permissions folded in, so a page (or one role) is one round trip.
const SELECT_ROLES = `
  SELECT r.id, r.tenant_id, r.key, r.name, r.description, r.built_in, r.grantable_in, r.created_at, r.updated_at,
         coalesce((SELECT jsonb_agg(jsonb_build_object('id', p.id::text, 'key', p.key) ORDER BY p.key)
                     FROM role_parents e JOIN roles p ON p.id = e.parent_id WHERE e.role_id = r.id), '[]') AS parents,
         coalesce((SELECT jsonb_agg(jsonb_build_object('permission', rp.permission, 'condition', rp.condition) ORDER BY rp.permission)
                     FROM role_permissions rp WHERE rp.role_id = r.id), '[]') AS permissions
    FROM roles r`;

const GRANT_COLUMNS = `g.id::text AS id, g.tenant_id, g.user_id::text AS user_id, g.role_id::text AS role_id,
  r.key AS role_key, r.name AS role_name, g.resource_type, g.resource_id, g.valid_from, g.valid_until, g.granted_by,
  g.created_at, (g.valid_from <= now() AND (g.valid_until IS NULL OR g.valid_until > now())) AS active`;

/** An arbitrary constant: serialises changes of the role graph, so two edits cannot close a cycle together. */
const ROLE_GRAPH_LOCK = 727_023;

/** `roles`, `role_parents`, `role_permissions`, `role_grants` (db/migrations/023_rbac.sql). */
export class RolesRepository {
  constructor(private readonly q: Queryable) {}

  /** Whatever the transaction may see (row-level security: a tenant's own roles and the templates). */
  list(tenantId: string | undefined, page: PageRequest): Promise<Page<RoleRow>> {
    return keysetPage<RoleRow>(
      this.q,
      ROLES_LISTING,
      { sql: `${SELECT_ROLES} WHERE $1::text IS NULL OR r.tenant_id = $1`, params: [tenantId ?? null] },
      page,
    );
  }

  async find(id: string): Promise<RoleRow | undefined> {
    const { rows } = await this.q.query<RoleRow>(`${SELECT_ROLES} WHERE r.id = $1`, [id]);
    return rows[0];
  }

  async findMany(ids: readonly string[]): Promise<RoleRow[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.q.query<RoleRow>(`${SELECT_ROLES} WHERE r.id = ANY ($1::uuid[])`, [ids]);
    return rows;
  }

  /** Taken first by every change of parents: the cycle check then sees every committed edge. */
  async lockGraph(): Promise<void> {
    await this.q.query('SELECT pg_advisory_xact_lock($1)', [ROLE_GRAPH_LOCK]);
  }

  /** Every inheritance edge, child -> parents. */
  async edges(): Promise<Map<string, string[]>> {
    const { rows } = await this.q.query<{ role_id: string; parent_id: string }>(
      'SELECT role_id::text AS role_id, parent_id::text AS parent_id FROM role_parents',
    );
    const edges = new Map<string, string[]>();
    for (const r of rows) edges.set(r.role_id, [...(edges.get(r.role_id) ?? []), r.parent_id]);
    return edges;
  }

  /** The roles that inherit from this one. */
  async children(id: string): Promise<string[]> {
    const { rows } = await this.q.query<{ key: string }>(
      'SELECT r.key FROM role_parents e JOIN roles r ON r.id = e.role_id WHERE e.parent_id = $1 ORDER BY r.key',
      [id],
    );
    return rows.map((r) => r.key);
  }

  /** Inserts a role; undefined when its key is taken in the tenant. */
  async insert(role: {
    tenantId: string;
    key: string;
    name: string;
    description: string;
    grantableIn: readonly string[] | null;
  }): Promise<string | undefined> {
    const { rows } = await this.q.query<{ id: string }>(
      `INSERT INTO roles (tenant_id, key, name, description, grantable_in) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id, key) DO NOTHING RETURNING id::text AS id`,
      [role.tenantId, role.key, role.name, role.description, role.grantableIn],
    );
    return rows[0]?.id;
  }

  async update(
    id: string,
    changes: {
      name?: string | undefined;
      description?: string | undefined;
      grantableIn?: readonly string[] | null | undefined;
    },
  ): Promise<void> {
    await this.q.query(
      `UPDATE roles SET name = coalesce($2, name), description = coalesce($3, description),
              grantable_in = CASE WHEN $4 THEN $5::text[] ELSE grantable_in END, updated_at = now()
        WHERE id = $1`,
      [
        id,
        changes.name ?? null,
        changes.description ?? null,
        changes.grantableIn !== undefined,
        changes.grantableIn ?? null,
      ],
    );
  }

  async touch(id: string): Promise<void> {
    await this.q.query('UPDATE roles SET updated_at = now() WHERE id = $1', [id]);
  }

  async setParents(tenantId: string, id: string, parents: readonly string[]): Promise<void> {
    await this.q.query('DELETE FROM role_parents WHERE role_id = $1', [id]);
    if (parents.length > 0)
      await this.q.query(`INSERT INTO role_parents (tenant_id, role_id, parent_id) SELECT $1, $2, unnest($3::uuid[])`, [
        tenantId,
        id,
        parents,
      ]);
  }

  async setPermissions(
    tenantId: string,
    id: string,
    permissions: readonly { permission: string; condition: Condition | null }[],
  ): Promise<void> {
    await this.q.query('DELETE FROM role_permissions WHERE role_id = $1', [id]);
    if (permissions.length > 0)
      await this.q.query(
        `INSERT INTO role_permissions (tenant_id, role_id, permission, condition)
         SELECT $1, $2, p, c::jsonb FROM unnest($3::text[], $4::text[]) AS x(p, c)`,
        [
          tenantId,
          id,
          permissions.map((p) => p.permission),
          permissions.map((p) => (p.condition === null ? null : JSON.stringify(p.condition))),
        ],
      );
  }

  async delete(id: string): Promise<void> {
    await this.q.query('DELETE FROM roles WHERE id = $1', [id]);
  }

  async findUser(id: string): Promise<{ tenant_id: string; kind: string; status: string } | undefined> {
    const { rows } = await this.q.query<{ tenant_id: string; kind: string; status: string }>(
      'SELECT u.tenant_id, t.kind, u.status FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1',
      [id],
    );
    return rows[0];
  }

  async tenantKind(tenantId: string): Promise<string | undefined> {
    const { rows } = await this.q.query<{ kind: string }>('SELECT kind FROM tenants WHERE id = $1', [tenantId]);
    return rows[0]?.kind;
  }

  /** A grant, or the same grant (user, role, bound resource) with its validity changed. */
  async upsertGrant(grant: {
    tenantId: string;
    userId: string;
    roleId: string;
    resource: { type: string; id: string } | null;
    validFrom: Date;
    validUntil: Date | null;
    grantedBy: string;
  }): Promise<{ id: string; created: boolean }> {
    const { rows } = await this.q.query<{ id: string; created: boolean }>(
      `INSERT INTO role_grants (tenant_id, user_id, role_id, resource_type, resource_id, valid_from, valid_until, granted_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (user_id, role_id, (coalesce(resource_type, '')), (coalesce(resource_id, '')))
       DO UPDATE SET valid_from = EXCLUDED.valid_from, valid_until = EXCLUDED.valid_until, granted_by = EXCLUDED.granted_by
       RETURNING id::text AS id, (xmax = 0) AS created`,
      [
        grant.tenantId,
        grant.userId,
        grant.roleId,
        grant.resource?.type ?? null,
        grant.resource?.id ?? null,
        grant.validFrom,
        grant.validUntil,
        grant.grantedBy,
      ],
    );
    return rows[0]!;
  }

  async findGrant(id: string): Promise<GrantRow | undefined> {
    const { rows } = await this.q.query<GrantRow>(
      `SELECT ${GRANT_COLUMNS} FROM role_grants g JOIN roles r ON r.id = g.role_id WHERE g.id = $1`,
      [id],
    );
    return rows[0];
  }

  /** A user's grants, ended ones included, newest first. */
  userGrants(userId: string, page: PageRequest): Promise<Page<GrantRow>> {
    return keysetPage<GrantRow>(
      this.q,
      GRANTS_LISTING,
      {
        sql: `SELECT ${GRANT_COLUMNS} FROM role_grants g JOIN roles r ON r.id = g.role_id WHERE g.user_id = $1`,
        params: [userId],
      },
      page,
    );
  }

  /** Deletes a user's grants of a role (or one grant); returns what was deleted. */
  async deleteGrants(
    userId: string,
    which: { roleId?: string | undefined; grantId?: string | undefined },
  ): Promise<string[]> {
    const { rows } = await this.q.query<{ id: string }>(
      `DELETE FROM role_grants WHERE user_id = $1 AND ($2::uuid IS NULL OR role_id = $2) AND ($3::uuid IS NULL OR id = $3)
       RETURNING id::text AS id`,
      [userId, which.roleId ?? null, which.grantId ?? null],
    );
    return rows.map((r) => r.id);
  }
}
