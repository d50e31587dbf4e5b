import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { detectFeatures, migrate, migrationRequirements, storageMode, type Database } from '../index.js';
import { testDatabases } from '../testing.js';

describe('migrationRequirements', () => {
  it('reads a `-- requires:` line from the leading comments only', () => {
    expect(migrationRequirements('-- TimescaleDB storage\n-- requires: timescaledb\nCREATE TABLE t ();')).toEqual([
      'timescaledb',
    ]);
    expect(migrationRequirements('-- requires: timescaledb, postgis \nSELECT 1;')).toEqual(['timescaledb', 'postgis']);
    expect(migrationRequirements('CREATE TABLE t ();\n-- requires: timescaledb')).toEqual([]);
    expect(migrationRequirements('-- plain migration\nCREATE TABLE t ();')).toEqual([]);
  });
});

const implementations = testDatabases(inject('pgAdminUrl'), 'migrate');

describe.each(implementations)('migrate on %s', (_name, open) => {
  let db: Database;
  let dir: string;

  beforeAll(async () => {
    db = await open({ migrate: false });
    dir = mkdtempSync(join(tmpdir(), 'clutch-migrations-'));
    writeFileSync(join(dir, '001_base.sql'), 'CREATE TABLE base (id int);');
    writeFileSync(
      join(dir, '002_fast.sql'),
      '-- Only with TimescaleDB.\n-- requires: timescaledb\nCREATE TABLE fast (id int);',
    );
    writeFileSync(join(dir, '003_after.sql'), 'CREATE TABLE after_fast (id int);');
  });
  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tables = async (): Promise<string[]> =>
    (
      await db.query<{ name: string }>(
        `SELECT table_name AS name FROM information_schema.tables WHERE table_name IN ('base', 'fast', 'after_fast') ORDER BY 1`,
      )
    ).rows.map((r) => r.name);

  it('detects no TimescaleDB here and keeps native storage', async () => {
    expect(await detectFeatures(db)).toEqual({ timescaledb: false });
  });

  it('skips a migration whose feature is missing without recording it, and applies it once the feature appears', async () => {
    expect(await migrate(db, dir, { features: { timescaledb: false } })).toEqual(['001_base.sql', '003_after.sql']);
    expect(await tables()).toEqual(['after_fast', 'base']);
    expect(await migrate(db, dir, { features: { timescaledb: false } })).toEqual([]);

    expect(await migrate(db, dir, { features: { timescaledb: true } })).toEqual(['002_fast.sql']);
    expect(await tables()).toEqual(['after_fast', 'base', 'fast']);
    const recorded = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(recorded.rows.map((r) => Number(r.version))).toEqual([1, 2, 3]);
  });

  it('applies the core migrations with native storage where TimescaleDB is absent', async () => {
    const fresh = await open({ migrate: false });
    try {
      const applied = await migrate(fresh);
      expect(applied).toContain('001_core.sql');
      expect(applied).not.toContain('007_timescaledb.sql');
      expect(await storageMode(fresh)).toBe('native');
    } finally {
      await fresh.close();
    }
  });
});
