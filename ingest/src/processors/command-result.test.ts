import { describe, expect, it } from 'vitest';
import { processCommandResult } from './command-result.js';
import type { MessageOf } from './message-processor.js';
import { emptyOutcome } from './outcome.js';
import { boundsAround, DEFAULT_TIME_WINDOW } from './time-window.js';
import { validateMessage } from './validate.js';

const binding = { tenantId: 'acme', deviceId: 'pi-1', vehicleId: '11111111-1111-4111-8111-111111111111' };
const receivedAt = Date.parse('2026-03-01T12:00:00Z');
const context = { bounds: boundsAround(receivedAt, DEFAULT_TIME_WINDOW), seqGaps: undefined };
const id = '22222222-2222-4222-8222-222222222222';

function result(payload: unknown): MessageOf<'cmd_result'> {
  const v = validateMessage({
    topic: `clutch/v1/acme/pi-1/cmd/${id}/result`,
    payload: Buffer.from(JSON.stringify(payload)),
    receivedAt,
  });
  if (v.kind !== 'cmd_result') throw new Error(`not a command result: ${v.kind}`);
  return v;
}

describe('command-result processor', () => {
  it('hands the answer to the store step with the device that sent it, and announces nothing yet', () => {
    const outcome = emptyOutcome();
    const answer = { v: 1, id, ok: false, error: { code: 'VEHICLE_MOVING', message: 'stop the car first' } };
    processCommandResult(result(answer), binding, context, outcome);
    expect(outcome.commands).toEqual([
      { tenantId: 'acme', deviceId: 'pi-1', vehicleId: binding.vehicleId, result: answer },
    ]);
    expect(outcome.devices).toEqual([{ tenantId: 'acme', deviceId: 'pi-1', seq: null, seenAt: new Date(receivedAt) }]);
    // Whether it completes the command (in time, this device's, not answered yet) is the database's to say, after commit.
    expect(outcome.events).toEqual([]);
  });
});
