import type { LiveEvent, TopicAddress } from '@clutch/contracts';
import type { CommandAnswer } from '@clutch/db';
import type { DataQualityEvent } from '../data-quality/repository.js';
import type { DeadLetter } from '../dead-letters/repository.js';
import type { DeviceProgress, PresenceChange } from '../devices/repository.js';
import type { DtcRow } from '../dtc/repository.js';
import type { LocationRow } from '../locations/repository.js';
import type { QueuedMessage } from '../queue/work-queue.js';
import type { SampleRow } from './normalise.js';

/** The telemetry message behind `rows[end of the previous source .. end)`: names the sender of a stored row. */
export interface RowSource {
  end: number;
  deviceId: string;
  seq: number;
}

/** A telemetry message's `readings` event, filled from rows[start..end) when it is announced (liveEvents). */
export interface PendingReadings {
  event: Extract<LiveEvent, { type: 'readings' }>;
  start: number;
  end: number;
}

/**
 * What the processors of one batch's messages collected: the rows for each repository, stored in
 * one transaction (store-outcome.ts), and the live events published after it committed.
 */
export interface BatchOutcome {
  rows: SampleRow[];
  /** One per telemetry message with rows, in `rows` order (`end` ascending). */
  rowSources: RowSource[];
  deadLetters: DeadLetter[];
  devices: DeviceProgress[];
  presence: PresenceChange[];
  locations: LocationRow[];
  dtcs: DtcRow[];
  commands: (CommandAnswer & { vehicleId: string })[];
  events: LiveEvent[];
  /** The `readings` events among `events` whose readings are not copied from `rows` yet. */
  pendingReadings: PendingReadings[];
  /** Findings about what devices sent (sequence gaps, conflicting duplicates): stored in the commit's transaction. */
  dataQuality: DataQualityEvent[];
}

export const emptyOutcome = (): BatchOutcome => ({
  rows: [],
  rowSources: [],
  deadLetters: [],
  devices: [],
  presence: [],
  locations: [],
  dtcs: [],
  commands: [],
  events: [],
  pendingReadings: [],
  dataQuality: [],
});

/**
 * The live events to publish once the batch committed. Telemetry readings are copied from the rows
 * only now: made while processing (an object per reading), they lived through the commit's round
 * trips, long enough for the collector to copy and promote every one of them.
 */
export function liveEvents(outcome: BatchOutcome): LiveEvent[] {
  for (const { event, start, end } of outcome.pendingReadings)
    for (let i = start; i < end; i++) {
      const r = outcome.rows[i]!;
      event.readings.push({ signal: r.signalKey, time: r.timeIso, value: r.value });
    }
  outcome.pendingReadings.length = 0;
  return outcome.events;
}

export type OutcomeMark = Record<keyof BatchOutcome, number>;

/**
 * How long each list of the outcome is, so a message that fails half-way can be taken out again.
 * Taken before every message of a batch: `into` is reused instead of a new mark per message.
 */
export function markOf(outcome: BatchOutcome, into = {} as OutcomeMark): OutcomeMark {
  for (const key in outcome) into[key as keyof BatchOutcome] = outcome[key as keyof BatchOutcome].length;
  return into;
}

export function rollBackTo(outcome: BatchOutcome, mark: OutcomeMark): void {
  for (const key in outcome) outcome[key as keyof BatchOutcome].length = mark[key as keyof BatchOutcome];
}

/** Sets (part of) a message aside as a dead letter with the reason; `payload` defaults to the whole message's. */
export function refuse(
  outcome: BatchOutcome,
  address: TopicAddress | null,
  message: QueuedMessage,
  reason: string,
  payload: Buffer = message.payload,
): void {
  outcome.deadLetters.push({
    tenantId: address?.tenant ?? null,
    deviceId: address?.device ?? null,
    topic: message.topic,
    reason,
    payload,
  });
}
