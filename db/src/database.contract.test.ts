import { signalCatalogue } from '@clutch/contracts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate, syncSignals, type Database } from './index.js';
import { testDatabases } from './testing.js';

// One contract, every implementation: the embedded PGlite and a real PostgreSQL server.
const implementations = testDatabases(inject('pgAdminUrl'), 'db_contract');

describe.each(implementations)('database contract: %s', (_name, open) => {
  let db: Database;

  beforeAll(async () => {
    db = await open({ migrate: false });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('applies the numbered migrations once and is idempotent on the next start', async () => {
    const first = await migrate(db);
    expect(first[0]).toBe('001_core.sql');
    expect(await migrate(db)).toEqual([]);
    const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => Number(r.version))).toEqual(first.map((name) => Number(name.slice(0, 3))));
  });

  it('stores the signal catalogue with stable ids', async () => {
    await syncSignals(db, signalCatalogue);
    await syncSignals(db, signalCatalogue);
    const { rows } = await db.query<{ id: number; key: string; unit: string }>(
      'SELECT id, key, unit FROM signals WHERE key = $1',
      ['engine.rpm'],
    );
    expect(rows).toEqual([{ id: 2, key: 'engine.rpm', unit: 'rpm' }]);
  });

  it('rolls a failed transaction back completely', async () => {
    await db.query(`INSERT INTO tenants (id, name) VALUES ('rollback-t', 'R') ON CONFLICT DO NOTHING`);
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO vehicles (tenant_id, name) VALUES ('rollback-t', 'kept?')`);
        await tx.query('SELECT * FROM no_such_table');
      }),
    ).rejects.toThrow(/no_such_table/);
    const { rows } = await db.query(`SELECT 1 FROM vehicles WHERE tenant_id = 'rollback-t'`);
    expect(rows).toHaveLength(0);
  });

  it('keeps each tenant inside its own rows through row-level security', async () => {
    await db.query(
      `INSERT INTO tenants (id, name) VALUES ('acme', 'Acme'), ('globex', 'Globex') ON CONFLICT DO NOTHING`,
    );
    await db.query(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'Acme car'), ('globex', 'Globex car')`);
    const seenByAcme = await db.withTenant('acme', (tx) =>
      tx.query<{ name: string }>('SELECT name FROM vehicles ORDER BY name'),
    );
    expect(seenByAcme.rows.map((r) => r.name)).toEqual(['Acme car']);
    await expect(
      db.withTenant('acme', (tx) => tx.query(`INSERT INTO vehicles (tenant_id, name) VALUES ('globex', 'smuggled')`)),
    ).rejects.toThrow(/row-level security/);
  });

  it('keeps one sample per (vehicle, signal, time) when a batch is delivered twice', async () => {
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM vehicles WHERE name = 'Acme car'`);
    const vehicleId = rows[0]!.id;
    const times = [new Date(), new Date(Date.now() - 1000)].map((d) => d.toISOString());
    const insert = (): Promise<unknown> =>
      db.query(
        `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::uuid[], $4::smallint[], $5::float8[])
         ON CONFLICT DO NOTHING`,
        [times, ['acme', 'acme'], [vehicleId, vehicleId], [2, 2], [800, 900]],
      );
    await insert();
    await insert();
    const count = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM samples WHERE vehicle_id = $1', [
      vehicleId,
    ]);
    expect(count.rows[0]!.n).toBe(2);
  });

  it('files a sample from a month without a partition in the default partition instead of refusing it', async () => {
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM vehicles WHERE name = 'Globex car'`);
    await db.query(
      `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value) VALUES ('2001-01-01T00:00:00Z', 'globex', $1, 3, 50)`,
      [rows[0]!.id],
    );
    const stored = await db.query<{ part: string }>(
      `SELECT tableoid::regclass::text AS part FROM samples WHERE time = '2001-01-01T00:00:00Z'`,
    );
    expect(stored.rows).toEqual([{ part: 'samples_default' }]);
  });

  it('resolves names in the clutch_tenant schema first inside a tenant scope, and public ones elsewhere', async () => {
    // The mechanism TimescaleDB storage uses for relations row-level security cannot guard.
    await db.exec(`CREATE TABLE scoped_check (tenant_id text, note text);
      INSERT INTO scoped_check VALUES ('acme', 'mine'), ('globex', 'theirs');
      CREATE SCHEMA IF NOT EXISTS clutch_tenant;
      CREATE VIEW clutch_tenant.scoped_check WITH (security_barrier) AS
        SELECT tenant_id, note FROM public.scoped_check WHERE tenant_id = current_setting('app.tenant_id', true);
      GRANT USAGE ON SCHEMA clutch_tenant TO clutch_app;
      GRANT SELECT ON clutch_tenant.scoped_check TO clutch_app;`);
    try {
      const scoped = await db.withTenant('acme', (tx) => tx.query<{ note: string }>('SELECT note FROM scoped_check'));
      expect(scoped.rows).toEqual([{ note: 'mine' }]);
      await expect(db.withTenant('acme', (tx) => tx.query('SELECT note FROM public.scoped_check'))).rejects.toThrow(
        /permission denied/,
      );
      const all = await db.query<{ note: string }>('SELECT note FROM scoped_check ORDER BY note');
      expect(all.rows.map((r) => r.note)).toEqual(['mine', 'theirs']);
    } finally {
      await db.exec('DROP SCHEMA clutch_tenant CASCADE; DROP TABLE scoped_check');
    }
  });

  it('bulk-loads rows with COPY, escaping tabs, newlines, backslashes and NULLs, inside a transaction', async () => {
    await db.exec('CREATE TABLE copy_check (id int, note text, at timestamptz)');
    const at = new Date('2026-01-02T03:04:05.678Z');
    await db.transaction(async (tx) => {
      await tx.copyRows!(
        'copy_check',
        ['id', 'note', 'at'],
        [
          [1, 'tab\there', at],
          [2, 'line\nbreak \\ slash', null],
          [3, null, at],
        ],
      );
    });
    const { rows } = await db.query<{ id: number; note: string | null; at: Date | null }>(
      'SELECT id, note, at FROM copy_check ORDER BY id',
    );
    expect(rows.map((r) => [r.id, r.note, r.at === null ? null : new Date(r.at).toISOString()])).toEqual([
      [1, 'tab\there', at.toISOString()],
      [2, 'line\nbreak \\ slash', null],
      [3, null, at.toISOString()],
    ]);
    await expect(
      db.transaction(async (tx) => {
        await tx.copyRows!('copy_check', ['id'], [[4]]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await db.query('SELECT 1 FROM copy_check WHERE id = 4')).rows).toHaveLength(0);
  });

  it('bulk-loads typed columns in the binary format: every type, NULLs, UTF-8, extremes, and bad values refused whole', async () => {
    await db.exec(
      `CREATE TABLE copy_typed (at timestamptz, note text, ref uuid, small smallint, mid integer, big bigint, x double precision, ok boolean)`,
    );
    const columns = [
      { name: 'at', type: 'timestamptz' },
      { name: 'note', type: 'text' },
      { name: 'ref', type: 'uuid' },
      { name: 'small', type: 'int2' },
      { name: 'mid', type: 'int4' },
      { name: 'big', type: 'int8' },
      { name: 'x', type: 'float8' },
      { name: 'ok', type: 'bool' },
    ] as const;
    const uuid = '3F1C2E9A-1B2C-4D5E-8F90-123456789ABC';
    await db.transaction(async (tx) => {
      await tx.copyRows!('copy_typed', columns, [
        [
          new Date('1999-12-31T23:59:59.999Z'),
          'Zürich ✓ tab\there',
          uuid,
          -32768,
          2147483647,
          '9007199254740993',
          -0.5,
          true,
        ],
        [Date.parse('2026-11-25T12:00:00.123Z'), null, uuid.toLowerCase(), 32767, -2147483648, 0, 1e308, false],
        ['2026-11-25T12:00:01Z', '', null, null, null, null, null, null],
      ]);
    });
    const { rows } = await db.query<Record<string, unknown>>(
      `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS at, note, ref::text AS ref, small, mid, big::text AS big, x, ok FROM copy_typed ORDER BY at`,
    );
    expect(rows).toEqual([
      {
        at: '1999-12-31T23:59:59.999',
        note: 'Zürich ✓ tab\there',
        ref: uuid.toLowerCase(),
        small: -32768,
        mid: 2147483647,
        big: '9007199254740993',
        x: -0.5,
        ok: true,
      },
      {
        at: '2026-11-25T12:00:00.123',
        note: null,
        ref: uuid.toLowerCase(),
        small: 32767,
        mid: -2147483648,
        big: '0',
        x: 1e308,
        ok: false,
      },
      { at: '2026-11-25T12:00:01.000', note: '', ref: null, small: null, mid: null, big: null, x: null, ok: null },
    ]);

    // A value the column cannot hold fails the whole COPY with PostgreSQL's own SQLSTATE; nothing is stored.
    for (const [bad, code] of [
      [[null, null, 'not-a-uuid', null, null, null, null, null], '22P02'],
      [[null, null, null, 40000, null, null, null, null], '22003'],
      [['yesterday-ish', null, null, null, null, null, null, null], '22007'],
    ] as const) {
      await expect(
        db.transaction((tx) => tx.copyRows!('copy_typed', columns, [[null, 'fine', null, 1, 1, 1, 1, true], bad])),
      ).rejects.toMatchObject({ code });
    }
    expect((await db.query('SELECT count(*)::int AS n FROM copy_typed')).rows).toEqual([{ n: 3 }]);
  });

  it('bulk-loads rows read from objects (a row source), in both formats, as it does arrays', async () => {
    await db.exec('CREATE TABLE copy_source (at timestamptz, ref uuid, n int2, x float8, note text)');
    const readings = Array.from({ length: 2500 }, (_, i) => ({
      atMs: Date.parse('2026-11-25T12:00:00Z') + i,
      ref: i < 1200 ? '3f1c2e9a-1b2c-4d5e-8f90-123456789abc' : '00000000-0000-4000-8000-000000000001',
      n: i % 20,
      x: i / 4,
      note: i % 2 ? 'odd\ttab' : null,
    }));
    const source = {
      length: readings.length,
      read(i: number, into: unknown[]) {
        const r = readings[i]!;
        into[0] = r.atMs;
        into[1] = r.ref;
        into[2] = r.n;
        into[3] = r.x;
        into[4] = r.note;
        return into;
      },
    };
    const typed = [
      { name: 'at', type: 'timestamptz' },
      { name: 'ref', type: 'uuid' },
      { name: 'n', type: 'int2' },
      { name: 'x', type: 'float8' },
      { name: 'note', type: 'text' },
    ] as const;
    await db.transaction((tx) => tx.copyRows!('copy_source', typed, source));
    // Text format from the same source (timestamps as ISO text: the text format takes no epoch numbers).
    await db.transaction((tx) =>
      tx.copyRows!('copy_source', ['at', 'ref', 'n', 'x', 'note'], {
        length: source.length,
        read: (i, into) => {
          source.read(i, into);
          into[0] = new Date(readings[i]!.atMs);
          return into;
        },
      }),
    );
    const { rows } = await db.query<{
      n: number;
      refs: number;
      sum: number;
      notes: number;
      first: string;
      last: string;
    }>(
      `SELECT count(*)::int AS n, count(DISTINCT ref)::int AS refs, sum(x)::float8 AS sum, count(note)::int AS notes,
              min(at)::text AS first, max(at)::text AS last FROM copy_source`,
    );
    expect(rows[0]).toMatchObject({ n: 5000, refs: 2, sum: (2 * (2499 * 2500)) / 8, notes: 2500 });
    expect((await db.query('SELECT count(*)::int AS n FROM copy_source WHERE note = $1', ['odd\ttab'])).rows).toEqual([
      { n: 2500 },
    ]);
  });
});
