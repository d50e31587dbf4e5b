import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../audit/repository.js';
import { Scope } from '../auth/scope.js';
import { decodeCursor } from '../http/pagination.js';
import { DEAD_LETTERS_LISTING } from './repository.js';
import { DeadLettersService } from './service.js';

describe('dead-letter listing', () => {
  let db: Database;
  let ids: string[];

  beforeAll(async () => {
    db = await openTestDatabase('pglite', { signals: false });
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO dead_letters (tenant_id, device_id, topic, reason, payload)
       SELECT 'acme', 'pi-1', 'clutch/v1/acme/pi-1/telemetry', 'letter ' || n, convert_to('{}', 'UTF8') FROM generate_series(1, 31) AS n
       RETURNING id::text AS id`,
    );
    ids = rows.map((r) => r.id);
  });
  afterAll(async () => {
    await db?.close();
  });

  const admin = (): Scope => Scope.for(db, { kind: 'admin', dev: false }, recordAudit);
  const newestFirst = (): string[] => [...ids].sort((a, b) => Number(b) - Number(a));

  it('regression 12.8: pages through all 31 letters newest first, in numeric id order, each once', async () => {
    const service = new DeadLettersService(undefined);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const { deadLetters, next } = await service.list(admin(), {
        limit: 10,
        cursor: cursor === undefined ? undefined : decodeCursor(DEAD_LETTERS_LISTING, cursor),
      });
      seen.push(...deadLetters.map((l) => l.id));
      if (next === null) break;
      cursor = next;
    }
    expect(seen).toEqual(newestFirst());
    expect(seen).toHaveLength(31);
    expect(seen.slice(0, 3).map(Number)).toEqual([31, 30, 29].map((n) => Number(ids[n - 1])));
  });

  it('still pages with the deprecated before/nextBefore for one release', async () => {
    const service = new DeadLettersService(undefined);
    const seen: string[] = [];
    let before: string | undefined;
    for (let page = 0; page < 10; page++) {
      const { deadLetters, nextBefore } = await service.list(admin(), { limit: 10, before });
      seen.push(...deadLetters.map((l) => l.id));
      if (nextBefore === null) break;
      before = nextBefore;
    }
    expect(seen).toEqual(newestFirst());
  });
});
