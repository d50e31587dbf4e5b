import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from '../types.js';

export const CORE_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

interface MigrationFile {
  version: number;
  name: string;
  path: string;
}

const FILE_NAME = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

export function listMigrations(dir: string): MigrationFile[] {
  const files = readdirSync(dir)
    .map((name) => ({ name, match: FILE_NAME.exec(name) }))
    .filter((f) => f.match !== null)
    .map((f) => ({ version: Number(f.match![1]), name: f.name, path: join(dir, f.name) }))
    .sort((a, b) => a.version - b.version);
  const seen = new Set<number>();
  for (const f of files) {
    if (seen.has(f.version)) throw new Error(`two migrations share version ${f.version} in ${dir}`);
    seen.add(f.version);
  }
  return files;
}

// An arbitrary constant: serialises concurrent migrators (two API processes starting together).
const MIGRATION_LOCK = 727_001;

/**
 * Applies every numbered .sql file not yet recorded in schema_migrations, each in its own
 * transaction, in version order. Safe to run at every start and from several processes at once.
 */
export async function migrate(db: Database, dir: string = CORE_MIGRATIONS_DIR): Promise<string[]> {
  const applied: string[] = [];
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const done = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const doneVersions = new Set(done.rows.map((r) => Number(r.version)));
    for (const file of listMigrations(dir)) {
      if (doneVersions.has(file.version)) continue;
      const sql = readFileSync(file.path, 'utf8');
      try {
        await tx.query('SAVEPOINT migration');
        await tx.exec(sql);
        await tx.query('RELEASE SAVEPOINT migration');
      } catch (err) {
        throw new Error(`migration ${file.name} failed: ${(err as Error).message}`, { cause: err });
      }
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [file.version, file.name]);
      applied.push(file.name);
    }
  });
  return applied;
}

