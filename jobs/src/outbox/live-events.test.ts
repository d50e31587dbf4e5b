import { createInProcessBus, type LiveEvent } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { implementations } from '../testing/databases.js';
import { waitFor } from '../testing/wait-for.js';
import { listenerFor } from './listen.js';
import {
  appendLiveEvent,
  appendLiveEvents,
  LIVE_TOPICS,
  liveBusSink,
  liveEventOf,
  type OutboxLiveEvent,
} from './live-events.js';
import { startOutboxRelay, type OutboxRelay } from './relay.js';

const vehicleId = '0b9e8f2a-1c3d-4e5f-8a6b-7c8d9e0f1a2b';
const at = '2030-01-01T00:00:00.000Z';

/** One event of every type that travels through the outbox. */
const everyType: Record<OutboxLiveEvent['type'], OutboxLiveEvent> = {
  presence: { type: 'presence', tenantId: 'acme', vehicleId, deviceId: 'pi-1', online: true, at },
  location: { type: 'location', tenantId: 'acme', vehicleId, at, lat: 52.5, lon: 13.4, speedKmh: 42 },
  dtc: { type: 'dtc', tenantId: 'acme', vehicleId, at, codes: [{ code: 'P0301', kind: 'stored' }] },
  alert: {
    type: 'alert',
    tenantId: 'acme',
    vehicleId,
    alert: { id: 'a1', kind: 'cooling', severity: 'critical', title: 't', explanation: 'e', signals: [], at },
  },
  command: { type: 'command', tenantId: 'acme', vehicleId, commandId: 'c1', status: 'timed_out' },
  'device-revoked': { type: 'device-revoked', tenantId: 'acme', vehicleId, deviceId: 'pi-1' },
  'api-key-revoked': { type: 'api-key-revoked', tenantId: 'acme', keyId: 'k1' },
  'session-revoked': { type: 'session-revoked', tenantId: 'acme', userId: 'u1', sessionId: 's1' },
  'roles-changed': { type: 'roles-changed', tenantId: 'acme', userId: 'u1' },
  booking_update: {
    type: 'booking_update',
    tenantId: 'acme',
    bookingId: 'b1',
    partnerId: 'p1',
    customerTenantId: 'consumers',
    customerUserId: 'u2',
    vehicleId,
    status: 'requested',
    startsAt: at,
    endsAt: at,
    at,
  },
  service_status_change: {
    type: 'service_status_change',
    tenantId: 'acme',
    repairOrderId: 'r1',
    bookingId: 'b1',
    partnerId: 'p1',
    customerTenantId: 'consumers',
    customerUserId: null,
    vehicleId,
    from: 'requested',
    to: 'confirmed',
    at,
  },
  payment_notification: {
    type: 'payment_notification',
    tenantId: 'acme',
    paymentId: 'pay1',
    purpose: 'booking',
    bookingId: 'b1',
    repairOrderId: null,
    partnerId: 'p1',
    customerTenantId: 'consumers',
    customerUserId: 'u2',
    status: 'authorized',
    amountMinor: 8900,
    capturedMinor: 0,
    refundedMinor: 0,
    currency: 'EUR',
    at,
  },
  notification: {
    type: 'notification',
    tenantId: 'acme',
    userId: 'u2',
    notification: {
      id: 'n1',
      category: 'chat',
      title: 't',
      body: 'b',
      url: '/bookings/b1',
      createdAt: at,
      readAt: null,
    },
  },
  chat_message: {
    type: 'chat_message',
    tenantId: 'acme',
    roomId: 'room1',
    message: {
      id: 'm1',
      roomId: 'room1',
      seq: 1,
      clientMessageId: 'c1',
      sender: { userId: 'u1', tenantId: 'acme', displayName: 'Pam' },
      body: '',
      sealed: { keyId: 'k1', nonce: 'bm9uY2U=', ciphertext: 'c2VhbGVk' },
      mentions: ['u2'],
      attachments: [],
      createdAt: at,
      deletedAt: null,
    },
    participantUserIds: ['u1', 'u2'],
    room: { kind: 'booking', title: null, bookingId: 'b1' },
  },
  chat_read: { type: 'chat_read', tenantId: 'acme', roomId: 'room1', userId: 'u2', readUpToSeq: 1, readAt: at },
  chat_message_deleted: { type: 'chat_message_deleted', tenantId: 'acme', roomId: 'room1', messageId: 'm1', seq: 1 },
  normal: { type: 'normal', tenantId: 'acme', vehicleIds: [vehicleId] },
};

describe.each(implementations(inject('pgAdminUrl'), 'jobs_live_events'))(
  'live events through the outbox: %s',
  (_name, open) => {
    let db: Database;
    let relay: OutboxRelay;
    const seen: LiveEvent[] = [];

    beforeAll(async () => {
      const opened = await open();
      db = opened.db;
      const bus = createInProcessBus();
      bus.subscribe((e) => seen.push(e));
      relay = await startOutboxRelay({ db, sinks: [liveBusSink(bus)], listen: listenerFor(db, opened.url) });
    });
    afterAll(async () => {
      await relay?.stop();
      await db?.close();
    });

    it('comes out on the bus exactly as it went in, for every type, once its transaction committed', async () => {
      const events = Object.values(everyType);
      await db.withTenant('acme', (tx) => appendLiveEvents(tx, events));
      await waitFor(() => seen.length >= events.length, 'the live events');
      expect(seen).toEqual(events);
      expect(new Set(Object.values(LIVE_TOPICS))).toEqual(new Set(Object.keys(everyType)));
    });

    it('never comes out of a transaction that rolled back', async () => {
      seen.length = 0;
      await expect(
        db.withTenant('acme', async (tx) => {
          await appendLiveEvent(tx, { type: 'api-key-revoked', tenantId: 'acme', keyId: 'rolled-back' });
          throw new Error('the use case failed');
        }),
      ).rejects.toThrow('the use case failed');
      await db.withTenant('acme', (tx) => appendLiveEvent(tx, everyType['api-key-revoked']));
      await waitFor(() => seen.length > 0, 'the committed revocation');
      expect(seen).toEqual([everyType['api-key-revoked']]);
    });

    it('carries a booking without a vehicle, and drops one that names no shop or customer', () => {
      const { type: _t, tenantId: _tenant, ...payload } = everyType.booking_update;
      const row = { id: 'e1', seq: '1', tenantId: 'acme', topic: 'booking.updated', createdAt: new Date() };
      expect(liveEventOf({ ...row, payload: { ...payload, vehicleId: null } })).toMatchObject({
        type: 'booking_update',
        tenantId: 'acme',
        vehicleId: null,
      });
      for (const missing of ['bookingId', 'partnerId', 'customerTenantId', 'status'])
        expect(liveEventOf({ ...row, payload: { ...payload, [missing]: undefined } }), missing).toBeNull();
    });

    it('drops a saved-normal event whose vehicles are not a list of ids', () => {
      const row = { id: 'e1', seq: '1', tenantId: 'acme', topic: 'vehicle.normal-saved', createdAt: new Date() };
      expect(liveEventOf({ ...row, payload: { vehicleIds: [vehicleId] } })).toEqual(everyType.normal);
      expect(liveEventOf({ ...row, payload: { vehicleIds: vehicleId } })).toBeNull();
      expect(liveEventOf({ ...row, payload: { vehicleIds: [1] } })).toBeNull();
      expect(liveEventOf({ ...row, payload: {} })).toBeNull();
    });

    it("is refused inside another tenant's transaction (row-level security)", async () => {
      await expect(db.withTenant('globex', (tx) => appendLiveEvent(tx, everyType.command))).rejects.toThrow();
    });
  },
);
