import type { LiveEvent, LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import type { OnlineScorer } from '@clutch/ml';
import type { Logger } from 'pino';
import { scoreAndStoreAlerts } from './scoring/alerts.js';
import { recordDeadLetters, type DeadLetter } from './dead-letters/repository.js';
import { normaliseBatch, type SampleRow } from './processors/normalise.js';
import { createDeviceResolver, type DeviceResolver } from './processors/resolve-device.js';
import {
  completeCommands, recordPresence, storeDtcReports, storeLocations, storeSamples, touchDevices, markRollupsDirty,
  type CommandOutcome, type DeviceProgress, type DtcRow, type LocationRow, type PresenceChange,
} from './processors/store.js';
import { validateMessage } from './processors/validate.js';
import type { DeviceProgressBuffer } from './processors/device-progress.js';
import type { RollupPartials } from './rollups/partials.js';
import type { BatchHandler, QueuedMessage } from './queue/work-queue.js';

export interface IngestStats {
  messages: number;
  samplesStored: number;
  deadLetters: number;
  alerts: number;
  lastBatchAt: string | null;
  lastError: string | null;
}

interface Outcome {
  rows: SampleRow[];
  deadLetters: DeadLetter[];
  devices: DeviceProgress[];
  presence: PresenceChange[];
  locations: LocationRow[];
  dtcs: DtcRow[];
  commands: (CommandOutcome & { vehicleId: string })[];
  events: LiveEvent[];
}

const emptyOutcome = (): Outcome => ({ rows: [], deadLetters: [], devices: [], presence: [], locations: [], dtcs: [], commands: [], events: [] });

export interface IngestHandler {
  handle: BatchHandler;
  /**
   * Runs one message (a dead letter being replayed) through the chain. Unlike `handle`, a message
   * that is still refused is not dead-lettered again: the caller keeps the original record.
   */
  replay(message: QueuedMessage): Promise<{ stored: boolean; reason?: string }>;
  stats(): IngestStats;
}

/** SQLSTATE classes that mean "this data is bad", not "the database is unavailable". */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|42)/.test(code);
}

/**
 * The processor chain for one batch of queued messages: validate -> resolve device -> normalise ->
 * store (one transaction) -> events (after commit). Throws only when the database is unavailable,
 * so the queue redelivers; bad data becomes dead letters.
 */
export function createIngestHandler(deps: {
  db: Database;
  bus: LiveEventBus;
  logger?: Logger;
  resolver?: DeviceResolver;
  /** Real-time scoring of stored readings (ML health checks and anomaly model); off when absent. */
  scorer?: { scorer: OnlineScorer; modelVersion: string | null };
  /**
   * Where devices' newest seq and contact time go: buffered and written by the owner's flush
   * (startIngest does it every few seconds), or, when absent, written in every batch's transaction.
   */
  deviceProgress?: DeviceProgressBuffer;
  /**
   * Who keeps the 1-minute rollups: ingest (native storage: each transaction marks its minutes for
   * refreshRollups) or the database (TimescaleDB continuous aggregates). Default: ingest.
   */
  rollups?: 'ingest' | 'database';
  /**
   * With ingest rollups: this worker's in-memory minute sums, written by the owner's flush
   * (startIngest). Absent, every stored minute is left for refreshRollups to recompute.
   */
  rollupPartials?: RollupPartials;
}): IngestHandler {
  const { db, bus, logger } = deps;
  const resolver = deps.resolver ?? createDeviceResolver(db);
  const stats: IngestStats = { messages: 0, samplesStored: 0, deadLetters: 0, alerts: 0, lastBatchAt: null, lastError: null };

  async function process(messages: readonly QueuedMessage[]): Promise<Outcome> {
    const outcome = emptyOutcome();
    const validatedMessages = messages.map(validateMessage);
    await resolver.prefetch(validatedMessages.flatMap((v) => (v.kind === 'invalid' ? [] : [{ tenantId: v.address.tenant, deviceId: v.address.device }])));
    for (const validated of validatedMessages) {
      const { message } = validated;
      const tenantId = validated.address?.tenant ?? null;
      const deviceId = validated.address?.device ?? null;
      if (validated.kind === 'invalid') {
        outcome.deadLetters.push({ tenantId, deviceId, topic: message.topic, reason: validated.reason, payload: message.payload });
        continue;
      }
      const binding = await resolver.resolve(validated.address.tenant, validated.address.device);
      if (!binding) {
        outcome.deadLetters.push({ tenantId, deviceId, topic: message.topic, reason: `device ${tenantId}/${deviceId} is not provisioned`, payload: message.payload });
        continue;
      }
      if (validated.kind === 'status') {
        const online = validated.status.state === 'online';
        outcome.devices.push({ tenantId: binding.tenantId, deviceId: binding.deviceId, seq: null, seenAt: new Date(message.receivedAt) });
        outcome.presence.push({ tenantId: binding.tenantId, deviceId: binding.deviceId, online, at: new Date(message.receivedAt) });
        outcome.events.push({
          type: 'presence', tenantId: binding.tenantId, vehicleId: binding.vehicleId, deviceId: binding.deviceId,
          online, at: new Date(message.receivedAt).toISOString(),
        });
        continue;
      }
      const seen: DeviceProgress = { tenantId: binding.tenantId, deviceId: binding.deviceId, seq: null, seenAt: new Date(message.receivedAt) };
      if (validated.kind === 'location') {
        const fix = validated.fix;
        outcome.locations.push({ tenantId: binding.tenantId, vehicleId: binding.vehicleId, fix });
        outcome.devices.push(seen);
        outcome.events.push({
          type: 'location', tenantId: binding.tenantId, vehicleId: binding.vehicleId, at: new Date(fix.t).toISOString(),
          lat: fix.lat, lon: fix.lon, speedKmh: fix.speedKmh, headingDeg: fix.headingDeg,
        });
        continue;
      }
      if (validated.kind === 'dtc') {
        outcome.dtcs.push({ tenantId: binding.tenantId, vehicleId: binding.vehicleId, report: validated.report });
        outcome.devices.push(seen);
        outcome.events.push({
          type: 'dtc', tenantId: binding.tenantId, vehicleId: binding.vehicleId, at: new Date(validated.report.t).toISOString(),
          codes: validated.report.codes.map((c) => ({ code: c.code, kind: c.kind })),
        });
        continue;
      }
      if (validated.kind === 'cmd_result') {
        outcome.commands.push({ tenantId: binding.tenantId, deviceId: binding.deviceId, vehicleId: binding.vehicleId, result: validated.result });
        outcome.devices.push(seen);
        continue;
      }
      const { rows, rejected } = normaliseBatch(validated.batch, binding);
      outcome.rows.push(...rows);
      if (rejected.length > 0) {
        outcome.deadLetters.push({
          tenantId, deviceId, topic: message.topic,
          reason: `${rejected.length} sample(s) refused: ${rejected.slice(0, 3).map((r) => r.reason).join('; ')}`,
          payload: Buffer.from(JSON.stringify({ seq: validated.batch.seq, t0: validated.batch.t0, samples: rejected.map((r) => r.sample) })),
        });
      }
      outcome.devices.push({ tenantId: binding.tenantId, deviceId: binding.deviceId, seq: validated.batch.seq, seenAt: new Date(message.receivedAt) });
      if (rows.length > 0) {
        outcome.events.push({
          type: 'readings', tenantId: binding.tenantId, vehicleId: binding.vehicleId,
          readings: rows.map((r) => ({ signal: r.signalKey, time: r.timeIso, value: r.value })),
        });
      }
    }
    return outcome;
  }

  async function commit(outcome: Outcome): Promise<number> {
    const partials = deps.rollups === 'database' ? undefined : deps.rollupPartials;
    if (!partials) return commitOnce(outcome, undefined);
    const minutes = new Set<number>();
    for (const r of outcome.rows) minutes.add(r.timeMs - (r.timeMs % 60_000));
    return partials.commit([...minutes], () => commitOnce(outcome, partials));
  }

  async function commitOnce(outcome: Outcome, partials: RollupPartials | undefined): Promise<number> {
    const stored = await db.transaction(async (tx) => {
      const stored = await storeSamples(tx, outcome.rows);
      if (deps.rollups !== 'database') await markRollupsDirty(tx, stored, partials?.worker ?? '');
      await storeLocations(tx, outcome.locations);
      await storeDtcReports(tx, outcome.dtcs);
      await recordDeadLetters(tx, outcome.deadLetters);
      if (!deps.deviceProgress) await touchDevices(tx, outcome.devices);
      await recordPresence(tx, outcome.presence);
      const completed = new Set(await completeCommands(tx, outcome.commands));
      for (const c of outcome.commands) {
        if (completed.has(c.result.id)) {
          outcome.events.push({ type: 'command', tenantId: c.tenantId, vehicleId: c.vehicleId, commandId: c.result.id, status: c.result.ok ? 'succeeded' : 'failed' });
        }
      }
      return stored;
    });
    partials?.add(stored); // committed: now this worker's to sum
    return stored.length;
  }

  async function commitEachAlone(messages: readonly QueuedMessage[]): Promise<void> {
    // A data error somewhere in the batch: find the message that causes it and dead-letter only it.
    for (const message of messages) {
      const outcome = await process([message]);
      try {
        await finish(outcome, await commit(outcome));
      } catch (err) {
        if (!isDataError(err)) throw err;
        const address = validateMessage(message).address;
        const letter: DeadLetter = {
          tenantId: address?.tenant ?? null, deviceId: address?.device ?? null, topic: message.topic,
          reason: `refused by the database: ${(err as Error).message}`, payload: message.payload,
        };
        await db.transaction((tx) => recordDeadLetters(tx, [letter]));
        await finish({ ...emptyOutcome(), deadLetters: [letter] }, 0);
      }
    }
  }

  async function finish(outcome: Outcome, stored: number): Promise<void> {
    stats.samplesStored += stored;
    stats.deadLetters += outcome.deadLetters.length;
    stats.lastBatchAt = new Date().toISOString();
    deps.deviceProgress?.add(outcome.devices);
    for (const letter of outcome.deadLetters) logger?.warn({ topic: letter.topic, reason: letter.reason }, 'dead letter');
    for (const event of outcome.events) bus.publish(event);
    if (deps.scorer && outcome.rows.length > 0) {
      try {
        const scored = await scoreAndStoreAlerts(db, deps.scorer.scorer, outcome.rows, deps.scorer.modelVersion);
        stats.alerts += scored.alerts;
        for (const event of scored.events) bus.publish(event);
      } catch (err) {
        logger?.error({ err: (err as Error).message }, 'scoring failed; samples are stored, alerts for this batch are not');
      }
    }
  }

  return {
    async handle(messages) {
      try {
        const outcome = await process(messages);
        try {
          await finish(outcome, await commit(outcome));
        } catch (err) {
          if (!isDataError(err)) throw err;
          await commitEachAlone(messages);
        }
        stats.messages += messages.length;
        stats.lastError = null;
      } catch (err) {
        stats.lastError = (err as Error).message;
        throw err; // the queue keeps the messages and retries
      }
    },
    async replay(message) {
      const outcome = await process([message]);
      if (outcome.deadLetters.length > 0) return { stored: false, reason: outcome.deadLetters.map((l) => l.reason).join('; ') };
      try {
        await finish(outcome, await commit(outcome));
      } catch (err) {
        if (!isDataError(err)) throw err;
        return { stored: false, reason: `refused by the database: ${(err as Error).message}` };
      }
      return { stored: true };
    },
    stats: () => ({ ...stats }),
  };
}
