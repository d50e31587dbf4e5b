import type { Database } from '@clutch/db';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  appendEvent,
  listenerFor,
  pruneDeliveredEvents,
  startOutboxRelay,
  type OutboxEvent,
  type OutboxRelay,
  type OutboxSink,
} from './index.js';
import { implementations } from './testing/databases.js';
import { sleep, waitFor } from './testing/wait-for.js';

function recorder(name = 'socket.io'): OutboxSink & { events: OutboxEvent[] } {
  const events: OutboxEvent[] = [];
  return { name, events, deliver: async (event) => void events.push(event) };
}

describe.each(implementations(inject('pgAdminUrl'), 'jobs_outbox'))('outbox contract: %s', (_name, open) => {
  let db: Database;
  let url: string | undefined;
  const relays: OutboxRelay[] = [];

  async function relay(
    sinks: OutboxSink[],
    options: { listen?: boolean; pollMs?: number; retryMs?: number } = {},
  ): Promise<OutboxRelay> {
    const r = await startOutboxRelay({
      db,
      sinks,
      pollMs: options.pollMs ?? 100,
      retryMs: options.retryMs ?? 50,
      listen: options.listen === false ? undefined : listenerFor(db, url),
      onError: () => {},
    });
    relays.push(r);
    return r;
  }

  beforeAll(async () => {
    ({ db, url } = await open());
  });
  afterEach(async () => {
    while (relays.length > 0) await relays.pop()!.stop({ timeoutMs: 1000 });
    // Each test starts from an outbox with nothing left to deliver.
    await db.query('UPDATE outbox_events SET delivered_at = now() WHERE delivered_at IS NULL');
  });
  afterAll(async () => {
    await db?.close();
  });

  it('keeps no event from a transaction that rolled back', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO vehicles (tenant_id, name) VALUES ('acme', 'never sold')`);
        await appendEvent(tx, { tenantId: 'acme', topic: 'vehicle.created', payload: { name: 'never sold' } });
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    const { rows } = await db.query(`SELECT 1 FROM outbox_events WHERE payload->>'name' = 'never sold'`);
    expect(rows).toHaveLength(0);
  });

  it('delivers exactly the committed events, in order, with the ids append returned', async () => {
    const sink = recorder();
    await relay([sink]);
    const ids: string[] = [];
    await db.transaction(async (tx) => {
      ids.push(await appendEvent(tx, { tenantId: 'acme', topic: 'booking.requested', payload: { n: 1 } }));
      ids.push(await appendEvent(tx, { tenantId: 'acme', topic: 'booking.confirmed', payload: { n: 2 } }));
    });
    await db
      .transaction(async (tx) => {
        await appendEvent(tx, { tenantId: 'acme', topic: 'booking.cancelled', payload: { n: 'rolled back' } });
        throw new Error('rollback');
      })
      .catch(() => {});
    ids.push(
      await db.transaction((tx) =>
        appendEvent(tx, { tenantId: null, topic: 'platform.maintenance', payload: { n: 3 } }),
      ),
    );

    await waitFor(() => sink.events.length >= 3, 'three deliveries');
    await sleep(300);
    expect(sink.events.map((e) => [e.id, e.topic, e.payload])).toEqual([
      [ids[0], 'booking.requested', { n: 1 }],
      [ids[1], 'booking.confirmed', { n: 2 }],
      [ids[2], 'platform.maintenance', { n: 3 }],
    ]);
    expect(sink.events.map((e) => e.tenantId)).toEqual(['acme', 'acme', null]);
    const seqs = sink.events.map((e) => BigInt(e.seq));
    expect([...seqs].sort((a, b) => (a < b ? -1 : 1))).toEqual(seqs);
    const pending = await db.query(`SELECT 1 FROM outbox_events WHERE id = ANY($1::uuid[]) AND delivered_at IS NULL`, [
      ids,
    ]);
    expect(pending.rows).toHaveLength(0);
  });

  it('delivers to every named sink, and again with the same id after a sink refused, without overtaking it', async () => {
    const socket = recorder('socket.io');
    const attempts: string[] = [];
    let refused = false;
    const webhooks: OutboxSink = {
      name: 'webhooks',
      async deliver(event) {
        attempts.push(event.topic);
        if (event.topic === 'invoice.issued' && !refused) {
          refused = true;
          throw new Error('webhook queue unavailable');
        }
      },
    };
    await relay([socket, webhooks]);
    const id = await db.transaction(async (tx) => {
      const first = await appendEvent(tx, { tenantId: 'acme', topic: 'invoice.issued', payload: {} });
      await appendEvent(tx, { tenantId: 'acme', topic: 'invoice.paid', payload: {} });
      return first;
    });
    await waitFor(() => attempts.includes('invoice.paid'), 'the second event');
    expect(attempts).toEqual(['invoice.issued', 'invoice.issued', 'invoice.paid']);
    // At least once: the sink that had accepted the event sees it again, under the same id.
    expect(socket.events.map((e) => e.topic)).toEqual(['invoice.issued', 'invoice.issued', 'invoice.paid']);
    expect(socket.events[0]!.id).toBe(id);
    expect(socket.events[1]!.id).toBe(id);
  });

  it('hands a batch sink the events every earlier sink accepted at once, and again after it refused them', async () => {
    const socket = recorder('socket.io');
    const batches: string[][] = [];
    let refused = false;
    const jobs: OutboxSink = {
      name: 'jobs',
      deliver: () => Promise.reject(new Error('a batch sink gets batches')),
      async deliverBatch(events) {
        batches.push(events.map((e) => e.topic));
        if (!refused) {
          refused = true;
          throw new Error('job queue unavailable');
        }
      },
    };
    await relay([socket, jobs]);
    await db.transaction(async (tx) => {
      for (const topic of ['order.placed', 'order.paid', 'order.shipped'])
        await appendEvent(tx, { tenantId: 'acme', topic, payload: {} });
    });
    await waitFor(() => batches.length === 2, 'the batch delivered again');
    await sleep(300);
    const all = ['order.placed', 'order.paid', 'order.shipped'];
    expect(batches).toEqual([all, all]);
    expect(socket.events.map((e) => e.topic)).toEqual([...all, ...all]);
  });

  it('delivers again, with the same id, what a relay killed mid-delivery had not marked', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const first: OutboxEvent[] = [];
    await relay([
      {
        name: 'socket.io',
        deliver: async (e) => {
          first.push(e);
          await stuck;
        },
      },
    ]);
    const id = await db.transaction((tx) => appendEvent(tx, { tenantId: 'acme', topic: 'vehicle.moved', payload: {} }));
    await waitFor(() => first.length === 1, 'the first relay to take the event');

    const started = Date.now();
    await relays.pop()!.stop({ timeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(2000);
    release();
    await sleep(100);
    const { rows } = await db.query<{ delivered_at: Date | null }>(
      'SELECT delivered_at FROM outbox_events WHERE id = $1',
      [id],
    );
    expect(rows[0]!.delivered_at).toBeNull();

    const second = recorder();
    await relay([second]);
    await waitFor(() => second.events.length === 1, 'redelivery after the restart');
    expect(second.events[0]!.id).toBe(id);
    expect(first[0]!.id).toBe(id);
  });

  // PGlite has one connection and so one relay; on PostgreSQL a second relay (another API process) must
  // not deliver what the first holds.
  it.runIf(_name === 'PostgreSQL')('never lets two relays deliver the same event', async () => {
    const byRelay = [new Map<string, number>(), new Map<string, number>()];
    const sinkFor = (m: Map<string, number>): OutboxSink => ({
      name: 'socket.io',
      deliver: async (e) => {
        m.set(e.id, (m.get(e.id) ?? 0) + 1);
        await sleep(5);
      },
    });
    const ids = await db.transaction(async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < 60; i++)
        out.push(await appendEvent(tx, { tenantId: 'acme', topic: 'telemetry.alert', payload: { i } }));
      return out;
    });
    for (const m of byRelay)
      relays.push(await startOutboxRelay({ db, sinks: [sinkFor(m)], batchSize: 5, pollMs: 50, onError: () => {} }));
    await waitFor(() => byRelay[0]!.size + byRelay[1]!.size >= 60, 'all sixty events');
    await sleep(300);
    const both = [...byRelay[0]!.keys()].filter((id) => byRelay[1]!.has(id));
    expect(both).toEqual([]);
    expect(new Set([...byRelay[0]!.keys(), ...byRelay[1]!.keys()])).toEqual(new Set(ids));
    expect([...byRelay[0]!.values(), ...byRelay[1]!.values()].every((n) => n === 1)).toBe(true);
    expect(byRelay[0]!.size).toBeGreaterThan(0);
    expect(byRelay[1]!.size).toBeGreaterThan(0);
  });

  it('keeps each tenant to its own events, and platform events to the platform', async () => {
    await db.withTenant('globex', (tx) =>
      appendEvent(tx, { tenantId: 'globex', topic: 'vehicle.created', payload: { who: 'globex' } }),
    );
    await expect(
      db.withTenant('globex', (tx) => appendEvent(tx, { tenantId: 'acme', topic: 'vehicle.created', payload: {} })),
    ).rejects.toThrow(/row-level security/);
    const seen = await db.withTenant('globex', (tx) =>
      tx.query<{ tenant_id: string | null }>('SELECT DISTINCT tenant_id FROM outbox_events'),
    );
    expect(seen.rows).toEqual([{ tenant_id: 'globex' }]);
  });

  it('refuses a malformed topic', async () => {
    await expect(
      db.transaction((tx) => appendEvent(tx, { tenantId: null, topic: 'Bad Topic!', payload: {} })),
    ).rejects.toMatchObject({
      code: 'OUTBOX_TOPIC_INVALID',
    });
  });

  it('prunes delivered events by age and never undelivered ones', async () => {
    await db.transaction((tx) => appendEvent(tx, { tenantId: null, topic: 'platform.pending', payload: {} }));
    await db.query(`UPDATE outbox_events SET delivered_at = now() - interval '2 days' WHERE delivered_at IS NOT NULL`);
    expect(await pruneDeliveredEvents(db, 24 * 3600)).toBeGreaterThan(0);
    const left = await db.query<{ topic: string }>('SELECT topic FROM outbox_events');
    expect(left.rows).toEqual([{ topic: 'platform.pending' }]);
  });

  it('measures the commit-to-delivery delay with LISTEN and with polling alone', async () => {
    const delay = async (listen: boolean): Promise<number> => {
      const arrivals = new Map<string, number>();
      const r = await relay([{ name: 'clock', deliver: async (e) => void arrivals.set(e.id, Date.now()) }], {
        listen,
        pollMs: listen ? 1000 : 250,
      });
      await sleep(300);
      const delays: number[] = [];
      for (let i = 0; i < 10; i++) {
        const id = await db.transaction((tx) =>
          appendEvent(tx, { tenantId: null, topic: 'platform.tick', payload: { i } }),
        );
        const committed = Date.now();
        await waitFor(() => arrivals.has(id), 'the tick', 5000, 1);
        delays.push(arrivals.get(id)! - committed);
        await sleep(37);
      }
      await r.stop();
      relays.splice(relays.indexOf(r), 1);
      return delays.sort((a, b) => a - b)[5]!;
    };
    const listened = await delay(true);
    const polled = await delay(false);
    console.log(
      `[outbox] ${_name}: median commit->delivery ${listened} ms with LISTEN, ${polled} ms polling every 250 ms`,
    );
    expect(listened).toBeLessThan(100);
    expect(polled).toBeLessThan(400);
  });
});
