import { describe, expect, it } from 'vitest';
import type { MessageOf } from './message-processor.js';
import { emptyOutcome } from './outcome.js';
import { processStatus } from './status.js';
import { boundsAround, DEFAULT_TIME_WINDOW } from './time-window.js';
import { validateMessage } from './validate.js';

const binding = { tenantId: 'acme', deviceId: 'pi-1', vehicleId: '11111111-1111-4111-8111-111111111111' };
const receivedAt = Date.parse('2026-03-01T12:00:00Z');

function status(payload: unknown, at = receivedAt): MessageOf<'status'> {
  const v = validateMessage({
    topic: 'clutch/v1/acme/pi-1/status',
    payload: Buffer.from(JSON.stringify(payload)),
    receivedAt: at,
  });
  if (v.kind !== 'status') throw new Error(`not a status: ${v.kind}`);
  return v;
}
const context = (at = receivedAt) => ({ bounds: boundsAround(at, DEFAULT_TIME_WINDOW), seqGaps: undefined });

describe('status processor', () => {
  it('records presence and contact at the receive time and announces it', () => {
    const outcome = emptyOutcome();
    processStatus(status({ v: 1, state: 'offline' }), binding, context(), outcome);
    expect(outcome.presence).toEqual([{ tenantId: 'acme', deviceId: 'pi-1', online: false, at: new Date(receivedAt) }]);
    expect(outcome.devices).toEqual([{ tenantId: 'acme', deviceId: 'pi-1', seq: null, seenAt: new Date(receivedAt) }]);
    expect(outcome.events).toEqual([
      {
        type: 'presence',
        tenantId: 'acme',
        vehicleId: binding.vehicleId,
        deviceId: 'pi-1',
        online: false,
        at: '2026-03-01T12:00:00.000Z',
      },
    ]);
    expect(outcome.deadLetters).toEqual([]);
  });

  it('ignores the device clock: a status dated years off is still presence now', () => {
    const outcome = emptyOutcome();
    processStatus(
      status({ v: 1, state: 'online', t: Date.parse('2001-01-01T00:00:00Z') }),
      binding,
      context(),
      outcome,
    );
    expect(outcome.presence).toEqual([expect.objectContaining({ online: true, at: new Date(receivedAt) })]);
    expect(outcome.deadLetters).toEqual([]);
  });

  it('throws on a receive time that is no date (the chain isolates the message)', () => {
    expect(() =>
      processStatus(status({ v: 1, state: 'online' }, Number.NaN), binding, context(Number.NaN), emptyOutcome()),
    ).toThrow(RangeError);
  });
});
