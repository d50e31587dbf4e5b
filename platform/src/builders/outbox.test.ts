import { createInProcessBus, type LiveEvent } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { appendEvent } from '@clutch/jobs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveBusSink, startOutbox, type RunningOutbox } from './outbox.js';

describe('the outbox relay onto the live-event bus', () => {
  let db: Database;
  let outbox: RunningOutbox;
  const bus = createInProcessBus();
  const seen: LiveEvent[] = [];
  bus.subscribe((e) => seen.push(e));

  beforeAll(async () => {
    db = await openTestDatabase('pglite', { signals: false });
    await db.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
    outbox = await startOutbox(db, { databaseUrl: undefined }, [liveBusSink(bus)], pino({ level: 'silent' }));
  });

  afterAll(async () => {
    await outbox?.stop();
    await db?.close();
  });

  it('publishes live topics under their bus type, with the row tenant, and nothing else', async () => {
    const vehicleId = '0b9e8f2a-1c3d-4e5f-8a6b-7c8d9e0f1a2b';
    await db.withTenant('acme', async (tx) => {
      await appendEvent(tx, { tenantId: 'acme', topic: 'booking.confirmed', payload: { bookingId: 'b1' } });
      // A payload naming another tenant does not move the event there.
      await appendEvent(tx, {
        tenantId: 'acme',
        topic: 'vehicle.command',
        payload: { tenantId: 'globex', vehicleId, commandId: 'c1', status: 'delivered' },
      });
      await appendEvent(tx, { tenantId: 'acme', topic: 'vehicle.readings', payload: { vehicleId, readings: [] } });
      await appendEvent(tx, { tenantId: 'acme', topic: 'vehicle.alert', payload: { note: 'no vehicle id' } });
    });
    await expect
      .poll(
        async () => (await db.query(`SELECT count(*)::int AS n FROM outbox_events WHERE delivered_at IS NULL`)).rows[0],
      )
      .toEqual({ n: 0 });
    expect(seen).toEqual([{ type: 'command', tenantId: 'acme', vehicleId, commandId: 'c1', status: 'delivered' }]);
  });
});
