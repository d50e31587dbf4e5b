import { migrate, openPglite, openPostgres, type Database } from '@clutch/db';
import { createTestDatabase } from '@clutch/test-support';

export interface TestDatabase {
  db: Database;
  /** PostgreSQL only: what pg-boss and LISTEN connect with. */
  url?: string;
}

/** Both database kinds, migrated, for contract suites (each call makes a fresh database). */
export function implementations(adminUrl: string, name: string): [string, () => Promise<TestDatabase>][] {
  return [
    ['PGlite', async () => migrated({ db: await openPglite() })],
    [
      'PostgreSQL',
      async () => {
        const url = await createTestDatabase(adminUrl, name);
        return migrated({ db: await openPostgres(url), url });
      },
    ],
  ];
}

async function migrated(t: TestDatabase): Promise<TestDatabase> {
  await migrate(t.db);
  await t.db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme'), ('globex', 'Globex') ON CONFLICT DO NOTHING`);
  return t;
}
