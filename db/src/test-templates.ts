// Migrated test databases, made once and copied: part of '@clutch/db/testing' (never loaded by
// production code). Some 30 migrations run for every fresh test database otherwise, PGlite's initdb
// with them, and the whole suite makes hundreds: a copy of one migrated database is several times
// cheaper (PGlite: a data directory dump loaded with `loadDataDir`; PostgreSQL: CREATE DATABASE ...
// TEMPLATE). A template is keyed by everything that decides its content: the migration files, the
// migrate() options, the signal catalogue, the PGlite version and the day (a migration may depend on
// the date), so an edited migration makes a new template and never serves a stale one.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { CORE_MIGRATIONS_DIR } from './migrate/migrate.js';

export interface TemplateContent {
  /** migrate()'s options, or null for no migration at all (no template then). */
  migrate: Record<string, unknown>;
  /** Whether the signal catalogue is synced after migrating. */
  signals: boolean;
  /** The catalogue synced (its content is part of the key). */
  catalogue: unknown;
}

let pgliteVersion: string | undefined;

/** The installed PGlite's version (its package.json is not exported: found from its entry file). */
function installedPgliteVersion(): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** A short hash of everything that decides a migrated database's content. */
export function templateKey(content: TemplateContent, dir = CORE_MIGRATIONS_DIR): string {
  pgliteVersion ??= installedPgliteVersion();
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).sort()) {
    hash.update(file);
    hash.update(readFileSync(path.join(dir, file)));
  }
  hash.update(JSON.stringify([content.migrate, content.signals, content.catalogue, pgliteVersion]));
  hash.update(new Date().toISOString().slice(0, 10));
  return hash.digest('hex').slice(0, 20);
}

const TEMPLATE_DIR = path.join(tmpdir(), 'clutch-test-templates');
/** Templates of other keys older than this are deleted when a new one is written (edited migrations). */
const STALE_MS = 30 * 60_000;
const memo = new Map<string, Blob>();

/**
 * A dumped, migrated PGlite data directory for `key`: from this process's memory, from the file
 * another test process wrote, or made now by `make` (and written for the others).
 */
export async function pgliteTemplate(key: string, make: () => Promise<Blob>): Promise<Blob> {
  const known = memo.get(key);
  if (known) return known;
  const file = path.join(TEMPLATE_DIR, `${key}.tar`);
  let blob: Blob;
  if (existsSync(file)) {
    blob = new Blob([readFileSync(file)]);
  } else {
    blob = await make();
    mkdirSync(TEMPLATE_DIR, { recursive: true });
    // Written aside and renamed: a process reading the file never sees half of it.
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, Buffer.from(await blob.arrayBuffer()));
    renameSync(partial, file);
    for (const other of readdirSync(TEMPLATE_DIR)) {
      const at = path.join(TEMPLATE_DIR, other);
      if (at !== file && Date.now() - statSync(at).mtimeMs > STALE_MS) rmSync(at, { force: true });
    }
  }
  memo.set(key, blob);
  return blob;
}

/**
 * The name of a migrated template database for `key` on the server at `adminUrl`, made once per
 * server by `make(url)` (which migrates the fresh database at url) under an advisory lock, so
 * concurrent test processes wait for the first instead of migrating twice.
 */
export async function postgresTemplate(
  adminUrl: string,
  key: string,
  make: (url: string) => Promise<void>,
): Promise<string> {
  const name = `clutch_template_${key}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
    const { rows } = await client.query<{ ready: boolean }>(
      `SELECT d.datistemplate AS ready FROM pg_database d WHERE d.datname = $1`,
      [name],
    );
    if (rows[0]?.ready) return name;
    // A template half made by a process that died: start it again.
    if (rows.length > 0) await client.query(`DROP DATABASE ${name}`);
    await client.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    await make(url.toString());
    // Marked a template only once it is complete; its connections are closed by make().
    await client.query(`ALTER DATABASE ${name} IS_TEMPLATE true`);
    return name;
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => {});
    await client.end();
  }
}
