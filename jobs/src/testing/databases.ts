import type { Database } from '@clutch/db';
import { testDatabases, testDatabaseUrl } from '@clutch/db/testing';

export interface TestDatabase {
  db: Database;
  /** PostgreSQL only: what pg-boss and LISTEN connect with. */
  url?: string;
}

/** Both database kinds, migrated, for contract suites (each call makes a fresh database). */
export function implementations(adminUrl: string, name: string): [string, () => Promise<TestDatabase>][] {
  return testDatabases(adminUrl, name).map(([label, open]) => [
    label,
    async () => {
      const db = await open({ signals: false, seed: seedTenants });
      const url = testDatabaseUrl(db);
      return url === undefined ? { db } : { db, url };
    },
  ]);
}

async function seedTenants(db: Database): Promise<void> {
  await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme'), ('globex', 'Globex') ON CONFLICT DO NOTHING`);
}
