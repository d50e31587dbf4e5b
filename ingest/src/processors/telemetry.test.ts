import { describe, expect, it } from 'vitest';
import type { MessageOf } from './message-processor.js';
import { emptyOutcome, liveEvents } from './outcome.js';
import { createSeqGapDetector } from './seq-gaps.js';
import { processTelemetry } from './telemetry.js';
import { boundsAround, DEFAULT_TIME_WINDOW } from './time-window.js';
import { validateMessage } from './validate.js';

const binding = { tenantId: 'acme', deviceId: 'pi-1', vehicleId: '11111111-1111-4111-8111-111111111111' };
const receivedAt = Date.parse('2026-03-01T12:00:00Z');
const t0 = receivedAt - 60_000;
const context = { bounds: boundsAround(receivedAt, DEFAULT_TIME_WINDOW), seqGaps: undefined };

function telemetry(payload: unknown, at = receivedAt): MessageOf<'telemetry'> {
  const v = validateMessage({
    topic: 'clutch/v1/acme/pi-1/telemetry',
    payload: Buffer.from(JSON.stringify(payload)),
    receivedAt: at,
  });
  if (v.kind !== 'telemetry') throw new Error(`not telemetry: ${v.kind}`);
  return v;
}

describe('telemetry processor', () => {
  it('turns samples into rows with corrected times, notes the seq and announces the readings', () => {
    const outcome = emptyOutcome();
    processTelemetry(
      telemetry({
        v: 1,
        seq: 7,
        t0,
        clockOffsetMs: 500,
        samples: [
          [0, 'engine.rpm', 800],
          [1000, 'vehicle.speed', 12],
        ],
      }),
      binding,
      context,
      outcome,
    );
    expect(outcome.rows.map((r) => [r.timeIso, r.signalKey, r.value, r.vehicleId])).toEqual([
      ['2026-03-01T11:59:00.500Z', 'engine.rpm', 800, binding.vehicleId],
      ['2026-03-01T11:59:01.500Z', 'vehicle.speed', 12, binding.vehicleId],
    ]);
    expect(outcome.rowSources).toEqual([{ end: 2, deviceId: 'pi-1', seq: 7 }]);
    expect(outcome.devices).toEqual([{ tenantId: 'acme', deviceId: 'pi-1', seq: 7, seenAt: new Date(receivedAt) }]);
    // Announced after the commit: the readings are copied from the stored rows then.
    expect(liveEvents(outcome)).toEqual([
      {
        type: 'readings',
        tenantId: 'acme',
        vehicleId: binding.vehicleId,
        readings: [
          { signal: 'engine.rpm', time: '2026-03-01T11:59:00.500Z', value: 800 },
          { signal: 'vehicle.speed', time: '2026-03-01T11:59:01.500Z', value: 12 },
        ],
      },
    ]);
    expect(outcome.deadLetters).toEqual([]);
  });

  it('refuses the bad samples in one dead letter that replays them at the same times, and keeps the rest', () => {
    const outcome = emptyOutcome();
    processTelemetry(
      telemetry({
        v: 1,
        seq: 8,
        t0,
        clockOffsetMs: 250,
        samples: [
          [0, 'engine.rpm', 800],
          [0, 'engine.coolant_temp', 400],
          [0, 'engine.rpm', -5],
        ],
      }),
      binding,
      context,
      outcome,
    );
    expect(outcome.rows.map((r) => r.value)).toEqual([800]);
    expect(outcome.deadLetters).toHaveLength(1);
    expect(outcome.deadLetters[0]!.reason).toMatch(
      /^2 sample\(s\) refused: engine\.coolant_temp = 400 is outside -40\.\.215 °C; engine\.rpm = -5 is outside/,
    );
    expect(JSON.parse(outcome.deadLetters[0]!.payload.toString())).toEqual({
      v: 1,
      seq: 8,
      t0,
      clockOffsetMs: 250,
      samples: [
        [0, 'engine.coolant_temp', 400],
        [0, 'engine.rpm', -5],
      ],
    });
  });

  it('with every sample refused, stores and announces nothing but still notes the seq', () => {
    const outcome = emptyOutcome();
    processTelemetry(
      telemetry({ v: 1, seq: 9, t0: receivedAt + 3_600_000, samples: [[0, 'engine.rpm', 800]] }),
      binding,
      context,
      outcome,
    );
    expect([outcome.rows, outcome.rowSources, outcome.events]).toEqual([[], [], []]);
    expect(outcome.deadLetters).toHaveLength(1);
    expect(outcome.devices).toEqual([expect.objectContaining({ seq: 9 })]);
  });

  it("adds the seq checks' findings when a detector is given", () => {
    const seqGaps = createSeqGapDetector({ graceMs: 0 });
    const outcome = emptyOutcome();
    processTelemetry(
      telemetry({ v: 1, seq: 1, t0, samples: [[0, 'engine.rpm', 800]] }),
      binding,
      { ...context, seqGaps },
      outcome,
    );
    processTelemetry(
      telemetry({ v: 1, seq: 5, t0: t0 + 1000, samples: [[0, 'engine.rpm', 800]] }),
      binding,
      { ...context, seqGaps },
      outcome,
    );
    processTelemetry(
      telemetry({ v: 1, seq: 6, t0: t0 + 2000, samples: [[0, 'engine.rpm', 800]] }, receivedAt + 1),
      binding,
      { ...context, seqGaps },
      outcome,
    );
    expect(outcome.dataQuality).toEqual([
      { tenantId: 'acme', deviceId: 'pi-1', vehicleId: binding.vehicleId, kind: 'seq_gap', detail: { from: 2, to: 4 } },
    ]);
  });
});
