import { APP_ROLE, type Database } from '@clutch/db';

/**
 * Lets tenant-scoped transactions (db.withTenant runs as clutch_app) enqueue: INSERT on the job
 * tables plus SELECT on the two columns pg-boss's insert returns, and read access to queue settings
 * and pg-boss's clock function. Never SELECT on job rows: one tenant must not read another's jobs.
 * Runs at every start because pg-boss creates its schema after our migrations; a database without
 * our roles (a bare test database) is left alone.
 */
export async function grantTenantEnqueue(db: Database, schema: string): Promise<void> {
  const role = await db.query<{ present: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS present',
    [APP_ROLE],
  );
  if (role.rows[0]?.present !== true) return;
  const tables = await db.query<{ name: string }>(`SELECT DISTINCT table_name AS name FROM ${ident(schema)}.queue`);
  const jobTables = [...new Set(['job', ...tables.rows.map((t) => t.name)])].map((t) => `${ident(schema)}.${ident(t)}`);
  await db.exec(`
    GRANT USAGE ON SCHEMA ${ident(schema)} TO ${APP_ROLE};
    GRANT SELECT ON ${ident(schema)}.queue TO ${APP_ROLE};
    GRANT INSERT, SELECT (id, start_after) ON ${jobTables.join(', ')} TO ${APP_ROLE};
  `);
}

// Schema and table names come from our own configuration and pg-boss's catalogue, never from users;
// quoting still keeps an odd name from breaking the statement.
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
