import { describe, expect, it } from 'vitest';
import { processDtc } from './dtc.js';
import type { MessageOf } from './message-processor.js';
import { emptyOutcome } from './outcome.js';
import { boundsAround, DEFAULT_TIME_WINDOW } from './time-window.js';
import { validateMessage } from './validate.js';

const binding = { tenantId: 'acme', deviceId: 'pi-1', vehicleId: '11111111-1111-4111-8111-111111111111' };
const receivedAt = Date.parse('2026-03-01T12:00:00Z');
const context = { bounds: boundsAround(receivedAt, DEFAULT_TIME_WINDOW), seqGaps: undefined };

function dtc(payload: unknown): MessageOf<'dtc'> {
  const v = validateMessage({
    topic: 'clutch/v1/acme/pi-1/dtc',
    payload: Buffer.from(JSON.stringify(payload)),
    receivedAt,
  });
  if (v.kind !== 'dtc') throw new Error(`not a dtc report: ${v.kind}`);
  return v;
}

describe('trouble-code processor', () => {
  it("stores a report dated inside the window (its announcement is the store step's, through the outbox)", () => {
    const outcome = emptyOutcome();
    const report = {
      v: 1,
      t: receivedAt - 5000,
      codes: [
        { code: 'P0171', kind: 'stored', ecu: '7E8' },
        { code: 'P0300', kind: 'pending' },
      ],
    };
    processDtc(dtc(report), binding, context, outcome);
    expect(outcome.dtcs).toEqual([{ tenantId: 'acme', vehicleId: binding.vehicleId, report }]);
    expect(outcome.devices).toEqual([{ tenantId: 'acme', deviceId: 'pi-1', seq: null, seenAt: new Date(receivedAt) }]);
    expect(outcome.events).toEqual([]);
  });

  it('dead-letters a report older than the window, and adds nothing else', () => {
    const outcome = emptyOutcome();
    processDtc(dtc({ v: 1, t: receivedAt - 31 * 86_400_000, codes: [] }), binding, context, outcome);
    expect(outcome.deadLetters).toEqual([
      expect.objectContaining({
        reason: expect.stringMatching(/^trouble-code report is dated .*, before the accepted window/),
      }),
    ]);
    expect([outcome.dtcs, outcome.devices, outcome.events]).toEqual([[], [], []]);
  });
});
