import { createApiKey } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startApiServer } from '../server.js';
import {
  auditLog,
  backends,
  call,
  expectProblem,
  OTHER_TENANT,
  startFixture,
  TENANT,
  type Fixture,
  type Reply,
} from '../test-fixtures.js';

const ADMIN = 'admin-token-for-tests-0123456789';

describe.each(backends('api_dead_letters'))('dead letters on %s', (_name, open) => {
  let fx: Fixture;
  let acmeRead: string;
  let acmeStatus: string;
  const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<Reply> =>
    call(fx.api.url, method, path, options);
  const replays: string[] = [];

  beforeAll(async () => {
    // The replay port as the platform implements it: here, a payload is "fixed" when it says so.
    const replayDeadLetter = async (letter: { id: string; topic: string; payload: Buffer }) => {
      replays.push(letter.id);
      return letter.payload.toString('utf8').includes('fixed')
        ? { stored: true }
        : { stored: false, reason: 'v must be 1' };
    };
    fx = await startFixture({ requireAuth: true, adminToken: ADMIN, replayDeadLetter, ...(open ? { open } : {}) });
    acmeRead = (await createApiKey(fx.db, { tenantId: TENANT, name: 'garage', scopes: ['telemetry:read'] })).token;
    acmeStatus = (await createApiKey(fx.db, { tenantId: TENANT, name: 'status only', scopes: ['status:read'] })).token;
  });

  afterAll(async () => {
    await fx?.close();
  });

  describe('dead letters', () => {
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      const letters: [string, string | null, string, string, Uint8Array][] = [
        [
          'acmeText',
          TENANT,
          `clutch/v1/${TENANT}/pi-a1/telemetry`,
          'schema: v must be 1',
          new TextEncoder().encode('{"v":9,"samples":[]}'),
        ],
        [
          'acmeBinary',
          TENANT,
          `clutch/v1/${TENANT}/pi-a1/telemetry`,
          'not JSON',
          Uint8Array.from([0xa1, 0x61, 0x76, 0x09, 0x00]),
        ],
        [
          'acmeFixed',
          TENANT,
          `clutch/v1/${TENANT}/pi-a1/dtc`,
          'unknown vehicle',
          new TextEncoder().encode('{"fixed":true}'),
        ],
        [
          'globex',
          OTHER_TENANT,
          `clutch/v1/${OTHER_TENANT}/gx-1/telemetry`,
          'too many samples',
          new TextEncoder().encode('x'.repeat(3000)),
        ],
        ['orphan', null, 'clutch/v1/ghost', 'unparseable topic', new TextEncoder().encode('{}')],
      ];
      for (const [name, tenant, topic, reason, payload] of letters) {
        const { rows } = await fx.db.query<{ id: string }>(
          'INSERT INTO dead_letters (tenant_id, device_id, topic, reason, payload) VALUES ($1, $2, $3, $4, $5) RETURNING id::text AS id',
          [tenant, tenant ? topic.split('/')[3] : null, topic, reason, payload],
        );
        ids[name] = rows[0]!.id;
      }
    });

    it('lists every letter for the admin, newest first, with text or base64 previews', async () => {
      const res = await api('GET', '/api/dead-letters', { token: ADMIN });
      expect(res.status).toBe(200);
      const letters = res.body.deadLetters as Record<string, unknown>[];
      expect(letters.map((l) => l.id)).toEqual([ids.orphan, ids.globex, ids.acmeFixed, ids.acmeBinary, ids.acmeText]);
      const byId = Object.fromEntries(letters.map((l) => [l.id, l]));
      expect(byId[ids.acmeText!]).toMatchObject({
        tenantId: TENANT,
        deviceId: 'pi-a1',
        topic: `clutch/v1/${TENANT}/pi-a1/telemetry`,
        reason: 'schema: v must be 1',
        sizeBytes: 20,
        preview: { encoding: 'utf8', text: '{"v":9,"samples":[]}', truncated: false },
        replayedAt: null,
        replayAttempts: 0,
      });
      expect(byId[ids.acmeBinary!]).toMatchObject({
        preview: { encoding: 'base64', data: 'oWF2CQA=', truncated: false },
      });
      expect(byId[ids.globex!]).toMatchObject({ sizeBytes: 3000, preview: { encoding: 'utf8', truncated: true } });
      expect((byId[ids.globex!]!.preview as { text: string }).text.length).toBe(512);
      expect(res.body.nextBefore).toBeNull();
    });

    it('pages with limit and before, and filters by tenant', async () => {
      const page = await api('GET', '/api/dead-letters?limit=2', { token: ADMIN });
      expect((page.body.deadLetters as { id: string }[]).map((l) => l.id)).toEqual([ids.orphan, ids.globex]);
      expect(page.body.nextBefore).toBe(ids.globex);
      const next = await api('GET', `/api/dead-letters?limit=2&before=${String(page.body.nextBefore)}`, {
        token: ADMIN,
      });
      expect((next.body.deadLetters as { id: string }[]).map((l) => l.id)).toEqual([ids.acmeFixed, ids.acmeBinary]);
      const globex = await api('GET', `/api/dead-letters?tenantId=${OTHER_TENANT}`, { token: ADMIN });
      expect((globex.body.deadLetters as { id: string }[]).map((l) => l.id)).toEqual([ids.globex]);
      expectProblem(await api('GET', '/api/dead-letters?before=abc', { token: ADMIN }), 400, 'VALIDATION_FAILED');
    });

    it('pages with limit and the opaque cursor (next), the way to page from now on', async () => {
      const seen: string[] = [];
      let path = '/api/dead-letters?limit=2';
      for (let page = 0; page < 5; page++) {
        const res = await api('GET', path, { token: ADMIN });
        seen.push(...(res.body.deadLetters as { id: string }[]).map((l) => l.id));
        if (res.body.next === null) break;
        path = `/api/dead-letters?limit=2&cursor=${encodeURIComponent(res.body.next as string)}`;
      }
      expect(seen).toEqual([ids.orphan, ids.globex, ids.acmeFixed, ids.acmeBinary, ids.acmeText]);
      expectProblem(await api('GET', '/api/dead-letters?cursor=garbage!', { token: ADMIN }), 400, 'VALIDATION_FAILED');
    });

    it("shows a partner its own tenant's letters only", async () => {
      const res = await api('GET', '/api/dead-letters', { token: acmeStatus });
      expect((res.body.deadLetters as { id: string }[]).map((l) => l.id)).toEqual([
        ids.acmeFixed,
        ids.acmeBinary,
        ids.acmeText,
      ]);
      expect((await api('GET', `/api/dead-letters?tenantId=${TENANT}`, { token: acmeStatus })).status).toBe(200);
      expectProblem(
        await api('GET', `/api/dead-letters?tenantId=${OTHER_TENANT}`, { token: acmeStatus }),
        403,
        'FORBIDDEN',
      );
    });

    it('replays through the injected ingest: records refusals, marks success, refuses a second replay', async () => {
      let res = await api('POST', `/api/dead-letters/${ids.acmeText}/replay`, { token: ADMIN });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: ids.acmeText,
        stored: false,
        reason: 'v must be 1',
        replayedAt: null,
        replayAttempts: 1,
      });
      res = await api('POST', `/api/dead-letters/${ids.acmeFixed}/replay`, { token: ADMIN });
      expect(res.body).toMatchObject({ id: ids.acmeFixed, stored: true, reason: null, replayAttempts: 1 });
      expect(typeof res.body.replayedAt).toBe('string');
      expect(replays).toEqual([ids.acmeText, ids.acmeFixed]);
      expectProblem(
        await api('POST', `/api/dead-letters/${ids.acmeFixed}/replay`, { token: ADMIN }),
        409,
        'DEAD_LETTER_REPLAYED',
      );
      expectProblem(
        await api('POST', '/api/dead-letters/999999/replay', { token: ADMIN }),
        404,
        'DEAD_LETTER_NOT_FOUND',
      );
      expectProblem(
        await api('POST', `/api/dead-letters/${ids.acmeText}/replay`, { token: acmeRead }),
        403,
        'FORBIDDEN',
      );
      const listed = await api('GET', `/api/dead-letters?tenantId=${TENANT}`, { token: ADMIN });
      const text = (listed.body.deadLetters as Record<string, unknown>[]).find((l) => l.id === ids.acmeText);
      expect(text).toMatchObject({ replayAttempts: 1, lastReplayError: 'v must be 1', replayedAt: null });
      // One audit row per replay, with its outcome; none for the refused second replay.
      const audit = (await auditLog(fx.db)).filter((r) => r.action === 'dead-letter.replay');
      expect(audit.map((r) => [r.actor, r.target, r.tenant_id, r.detail.stored])).toEqual([
        ['admin', ids.acmeFixed, TENANT, true],
        ['admin', ids.acmeText, TENANT, false],
      ]);
    });

    it('answers 503 when the server has no ingest to replay into', async () => {
      const bare = await startApiServer({
        db: fx.db,
        bus: fx.bus,
        health: async () => ({}),
        logger: pino({ level: 'silent' }),
        port: 0,
      });
      try {
        const res = await call(bare.url, 'POST', `/api/dead-letters/${ids.acmeText}/replay`, {
          headers: { 'x-requested-with': 'test' },
        });
        expectProblem(res, 503, 'REPLAY_UNAVAILABLE');
      } finally {
        await bare.close();
      }
    });
  });
});
