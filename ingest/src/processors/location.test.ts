import { describe, expect, it } from 'vitest';
import { processLocation } from './location.js';
import type { MessageOf } from './message-processor.js';
import { emptyOutcome } from './outcome.js';
import { boundsAround, DEFAULT_TIME_WINDOW } from './time-window.js';
import { validateMessage } from './validate.js';

const binding = { tenantId: 'acme', deviceId: 'pi-1', vehicleId: '11111111-1111-4111-8111-111111111111' };
const receivedAt = Date.parse('2026-03-01T12:00:00Z');
const context = { bounds: boundsAround(receivedAt, DEFAULT_TIME_WINDOW), seqGaps: undefined };

function location(payload: unknown): MessageOf<'location'> {
  const v = validateMessage({
    topic: 'clutch/v1/acme/pi-1/location',
    payload: Buffer.from(JSON.stringify(payload)),
    receivedAt,
  });
  if (v.kind !== 'location') throw new Error(`not a location: ${v.kind}`);
  return v;
}

describe('location processor', () => {
  it('stores a fix dated inside the window, notes the contact and announces it', () => {
    const outcome = emptyOutcome();
    const fix = { v: 1, t: receivedAt - 1000, lat: 52.5, lon: 13.4, speedKmh: 50, headingDeg: 90 };
    processLocation(location(fix), binding, context, outcome);
    expect(outcome.locations).toEqual([{ tenantId: 'acme', vehicleId: binding.vehicleId, fix }]);
    expect(outcome.devices).toEqual([{ tenantId: 'acme', deviceId: 'pi-1', seq: null, seenAt: new Date(receivedAt) }]);
    expect(outcome.events).toEqual([
      {
        type: 'location',
        tenantId: 'acme',
        vehicleId: binding.vehicleId,
        at: '2026-03-01T11:59:59.000Z',
        lat: 52.5,
        lon: 13.4,
        speedKmh: 50,
        headingDeg: 90,
      },
    ]);
  });

  it('dead-letters a fix dated outside the window with its time, and adds nothing else', () => {
    const outcome = emptyOutcome();
    processLocation(location({ v: 1, t: receivedAt + 10 * 60_000, lat: 0, lon: 0 }), binding, context, outcome);
    expect(outcome.deadLetters).toEqual([
      {
        tenantId: 'acme',
        deviceId: 'pi-1',
        topic: 'clutch/v1/acme/pi-1/location',
        payload: expect.any(Buffer),
        reason: expect.stringMatching(/^location fix is dated 2026-03-01T12:10:00.000Z, after the accepted window/),
      },
    ]);
    expect([outcome.locations, outcome.devices, outcome.events]).toEqual([[], [], []]);
  });
});
