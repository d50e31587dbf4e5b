import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openPostgres, type Database, type Queryable } from './index.js';
import { sqlLiteral } from './tenant-scope.js';
import { testDatabases, testDatabaseUrl } from './testing.js';

describe.each(testDatabases(inject('pgAdminUrl'), 'tenant_scope'))('a tenant transaction on %s', (_name, open) => {
  let db: Database;
  beforeAll(async () => {
    db = await open({ migrate: true, signals: false });
  });
  afterAll(async () => {
    await db?.close();
  });

  const settings = (tenantId: string) =>
    db.withTenant(tenantId, async (tx) => {
      const { rows } = await tx.query<{ role: string; tenant: string; path: string }>(
        `SELECT current_user AS role, current_setting('app.tenant_id', true) AS tenant, current_setting('search_path') AS path`,
      );
      return rows[0]!;
    });

  it('runs as clutch_app with the tenant and the tenant schema first, and leaves nothing behind', async () => {
    expect(await settings('acme')).toEqual({ role: 'clutch_app', tenant: 'acme', path: 'clutch_tenant, public' });
    const after = await db.query<{ role: string; tenant: string | null }>(
      `SELECT current_user AS role, nullif(current_setting('app.tenant_id', true), '') AS tenant`,
    );
    expect(after.rows[0]!.role).not.toBe('clutch_app');
    expect(after.rows[0]!.tenant).toBeNull();
  });

  it('passes a tenant id through unchanged, quotes and backslashes included (it is inlined as a literal)', async () => {
    for (const tenant of [`o'hara`, `back\\slash`, `'; SET ROLE postgres; --`, `\\'`]) {
      expect((await settings(tenant)).tenant).toBe(tenant);
    }
  });

  it('rolls back the scope with the work when the work fails', async () => {
    await expect(db.withTenant('acme', (tx) => tx.query('SELECT 1/0'))).rejects.toThrow();
    expect((await settings('globex')).tenant).toBe('globex');
  });
});

describe('sqlLiteral', () => {
  it('refuses a NUL character, which PostgreSQL text cannot hold', () => {
    expect(() => sqlLiteral('a\0b')).toThrow(TypeError);
  });
});

describe('prepared statements under row-level security (PostgreSQL)', () => {
  it('keep every tenant inside its rows when one connection serves tenants and the owner in turn', async () => {
    const [, open] = testDatabases(inject('pgAdminUrl'), 'prepared_rls').find(([name]) => name === 'PostgreSQL')!;
    const setup = await open({ signals: false });
    const url = testDatabaseUrl(setup);
    // One connection, so each cached plan is reused across tenants (a generic plan after five runs).
    const db = await openPostgres(url!, { max: 1, preparedStatements: true });
    try {
      await setup.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme'), ('globex', 'Globex')`);
      await setup.query(
        `INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'a1'), ('acme', 'a2'), ('globex', 'g1')`,
      );
      const names = (tenant?: string) => {
        const read = (q: Queryable) =>
          q
            .query<{ name: string }>('SELECT name FROM vehicles WHERE name <> $1 ORDER BY name', ['none'])
            .then((r) => r.rows.map((row) => row.name));
        return tenant === undefined ? db.transaction(read) : db.withTenant(tenant, read);
      };
      for (let i = 0; i < 8; i++) {
        expect(await names('acme')).toEqual(['a1', 'a2']);
        expect(await names('globex')).toEqual(['g1']);
        expect(await names()).toEqual(['a1', 'a2', 'g1']);
        expect(await names('nobody')).toEqual([]);
      }
      const prepared = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'clutch_%' AND $1`,
        [true],
      );
      expect(prepared.rows[0]!.n).toBeGreaterThan(0);
    } finally {
      await db.close();
      await setup.close();
    }
  });
});
