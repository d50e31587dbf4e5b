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

/** Optional database capabilities a migration can require (see `-- requires:` below). */
export interface DatabaseFeatures {
  /** The TimescaleDB extension is installed, or can be (available and preloaded). */
  timescaledb: boolean;
}

const REQUIRES = /^--\s*requires:\s*([a-z0-9_, ]+)$/m;

/**
 * The features named on a `-- requires: a, b` line in the file's leading comments: such a migration
 * runs only where all of them exist, and is not recorded where they do not, so it runs at the first
 * start after they appear (installing TimescaleDB under a running platform converts its storage).
 */
export function migrationRequirements(sql: string): string[] {
  const header: string[] = [];
  for (const line of sql.split('\n')) {
    if (!line.startsWith('--')) break;
    header.push(line.trimEnd());
  }
  const match = REQUIRES.exec(header.join('\n'));
  return match
    ? match[1]!
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean)
    : [];
}

/**
 * What this database can do. TimescaleDB counts when the extension exists or is available and
 * preloaded (CREATE EXTENSION fails without `shared_preload_libraries = 'timescaledb'`).
 * The setting is read through pg_settings, which leaves it out for a role that may not see it (not
 * a superuser): such an owner could not create the untrusted extension anyway, so only an extension
 * a DBA already created counts for it.
 */
export async function detectFeatures(db: Database): Promise<DatabaseFeatures> {
  if (db.kind === 'pglite') return { timescaledb: false };
  const { rows } = await db.query<{ timescaledb: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
         OR (EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
             AND EXISTS (SELECT 1 FROM pg_settings WHERE name = 'shared_preload_libraries'
                           AND setting ~ '(^|[\\s,])timescaledb($|[\\s,])')) AS timescaledb`,
  );
  return { timescaledb: rows[0]!.timescaledb === true };
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
 * Applies every numbered .sql file not yet recorded in schema_migrations, in version order, in one
 * transaction (savepoint per file). Safe to run at every start and from several processes at once.
 * Files whose `-- requires:` features are missing are skipped (features default to detectFeatures).
 */
export async function migrate(
  db: Database,
  dir: string = CORE_MIGRATIONS_DIR,
  options: { features?: DatabaseFeatures } = {},
): Promise<string[]> {
  const applied: string[] = [];
  const features = options.features ?? (await detectFeatures(db));
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
      const missing = migrationRequirements(sql).filter((f) => features[f as keyof DatabaseFeatures] !== true);
      if (missing.length > 0) continue;
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
