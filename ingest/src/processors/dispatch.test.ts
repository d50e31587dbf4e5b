import { describe, expect, it } from 'vitest';
import { processMessage, PROCESSORS } from './dispatch.js';
import { emptyOutcome } from './outcome.js';
import { DEFAULT_TIME_WINDOW } from './time-window.js';
import { validateMessage } from './validate.js';

const binding = { tenantId: 'acme', deviceId: 'pi-1', vehicleId: '11111111-1111-4111-8111-111111111111' };
const receivedAt = Date.parse('2026-03-01T12:00:00Z');
const deps = { window: DEFAULT_TIME_WINDOW, seqGaps: undefined };
const validated = (topic: string, payload: unknown) =>
  validateMessage({ topic, payload: Buffer.from(JSON.stringify(payload)), receivedAt });

describe('dispatch', () => {
  it('has a processor for every message kind a device publishes', () => {
    expect(Object.keys(PROCESSORS).sort()).toEqual(['cmd_result', 'dtc', 'location', 'status', 'telemetry']);
  });

  it('routes each kind to its processor', () => {
    const outcome = emptyOutcome();
    processMessage(validated('clutch/v1/acme/pi-1/status', { v: 1, state: 'online' }), binding, deps, outcome);
    processMessage(
      validated('clutch/v1/acme/pi-1/location', { v: 1, t: receivedAt, lat: 1, lon: 2 }),
      binding,
      deps,
      outcome,
    );
    processMessage(validated('clutch/v1/acme/pi-1/dtc', { v: 1, t: receivedAt, codes: [] }), binding, deps, outcome);
    processMessage(
      validated('clutch/v1/acme/pi-1/telemetry', { v: 1, seq: 1, t0: receivedAt, samples: [[0, 'engine.rpm', 800]] }),
      binding,
      deps,
      outcome,
    );
    const id = '22222222-2222-4222-8222-222222222222';
    processMessage(validated(`clutch/v1/acme/pi-1/cmd/${id}/result`, { v: 1, id, ok: true }), binding, deps, outcome);
    // The dtc report is announced by the store step through the outbox, not as a bus event.
    expect(outcome.events.map((e) => e.type)).toEqual(['presence', 'location', 'readings']);
    expect([
      outcome.presence.length,
      outcome.locations.length,
      outcome.dtcs.length,
      outcome.rows.length,
      outcome.commands.length,
    ]).toEqual([1, 1, 1, 1, 1]);
    expect(outcome.deadLetters).toEqual([]);
  });

  it('dead-letters an invalid message and one from an unprovisioned device, with the reason', () => {
    const outcome = emptyOutcome();
    processMessage(validated('clutch/v1/acme/pi-1/location', { v: 1 }), binding, deps, outcome);
    processMessage(validated('clutch/v1/acme/pi-9/status', { v: 1, state: 'online' }), null, deps, outcome);
    expect(outcome.deadLetters.map((l) => [l.tenantId, l.deviceId, l.topic])).toEqual([
      ['acme', 'pi-1', 'clutch/v1/acme/pi-1/location'],
      ['acme', 'pi-9', 'clutch/v1/acme/pi-9/status'],
    ]);
    expect(outcome.deadLetters[1]!.reason).toBe('device acme/pi-9 is not provisioned');
    expect([outcome.presence, outcome.locations, outcome.events]).toEqual([[], [], []]);
  });
});
