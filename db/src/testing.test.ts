import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Database } from './index.js';
import { testDatabases, testDatabaseUrl } from './testing.js';

describe.each(testDatabases(inject('pgAdminUrl'), 'db_testing'))('openTestDatabase on %s', (name, open) => {
  let db: Database | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  const count = async (sql: string): Promise<number> => Number((await db!.query<{ n: string }>(sql)).rows[0]!.n);

  it('migrates, syncs the signal catalogue and seeds by default', async () => {
    db = await open({ seed: (d) => d.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`).then(() => {}) });
    expect(db.kind).toBe(name === 'PGlite' ? 'pglite' : 'postgres');
    expect(await count('SELECT count(*) AS n FROM signals')).toBeGreaterThan(0);
    expect(await count(`SELECT count(*) AS n FROM tenants WHERE id = 'acme'`)).toBe(1);
    expect(testDatabaseUrl(db) === undefined).toBe(name === 'PGlite');
  });

  it('leaves the signals out, or the whole schema, when asked', async () => {
    db = await open({ signals: false });
    expect(await count('SELECT count(*) AS n FROM signals')).toBe(0);
    await db.close();
    db = await open({ migrate: false });
    expect(
      await count(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'schema_migrations'`),
    ).toBe(0);
  });

  it('creates the sample partitions around now when asked', async () => {
    db = await open({ partitions: true });
    expect(
      await count(
        `SELECT count(*) AS n FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'samples'`,
      ),
    ).toBeGreaterThan(1);
  });
});
