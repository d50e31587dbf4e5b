import type { OnlineScorer, VehicleNormal } from '@clutch/ml';
import type { Logger } from 'pino';
import type { ScoringStore } from '../scoring/store.js';
import { vehicleNormalRecords, type VehicleNormalEntry } from './repository.js';

/** What the keeper holds for a vehicle: a run of its readings (the scoring consumer's ScoringRun). */
export interface HeldReadings {
  vehicleId: string;
  tenantId: string;
  /** Its readings are start..end-1 of the caller's storage. */
  start: number;
  end: number;
}

export interface NormalsKeeperOptions {
  /** Where normals are read and written (the database, or the thread that owns it). */
  store: ScoringStore;
  logger?: Logger | undefined;
  /** Changed normals are written at most this often while scoring runs (default 60 s), and on flush. */
  saveEveryMs?: number;
  /** Called when a load finished: rows are ready to score again (or were given up). */
  onSettled: () => void;
  now?: () => number;
}

export interface NormalsStats {
  /** Vehicles started from their stored normal. */
  normalsLoaded: number;
  /** Normals written (a vehicle counts once per save). */
  normalsSaved: number;
  /** Readings given up because their vehicle's stored normal could not be read (database unavailable). */
  droppedRows: number;
}

/**
 * Keeps the scorer's per-vehicle normals (issue 19) across restarts and model deploys, for the
 * scoring consumer (scoring/consumer.ts):
 * - a vehicle the scorer does not know yet has its stored normal read before its first readings are
 *   scored; its readings wait (in order) meanwhile, other vehicles' readings go on being scored;
 * - changed normals are written every `saveEveryMs` and on flush (stop, idle), each save one
 *   transaction;
 * - a newly deployed scorer is seeded with every known vehicle's normal (adopt), so a deploy does
 *   not start every car's calibration again.
 * A stored normal that cannot be read is never overwritten by a fresh one: its vehicle's readings
 * are given up (counted) and the next readings ask again. Nor is one written by someone else since
 * it was read (an import of the vehicle's history, in another process): a save writes only over the
 * revision it knows, and a vehicle whose write was refused is read again before its next readings.
 */
export function createNormalsKeeper<R extends HeldReadings>(options: NormalsKeeperOptions) {
  const { store, logger } = options;
  const saveEveryMs = options.saveEveryMs ?? 60_000;
  const now = options.now ?? Date.now;
  /** Readings of vehicles whose stored normal is being read, per vehicle in arrival order. */
  const waiting = new Map<string, { runs: R[]; rows: number; loaded: boolean }>();
  let waitingRows = 0;
  /** Vehicles whose load finished and whose waiting readings are to be scored next. */
  let ready: string[] = [];
  let loads = 0;
  /** Every vehicle scored, with its tenant (a save needs it; a deploy carries their normals over). */
  const tenants = new Map<string, string>();
  /** Vehicles whose normal changed and is not written yet. */
  const changed = new Set<string>();
  /** The stored revision of each vehicle's normal as last read or written here (null: none stored). */
  const revisions = new Map<string, number | null>();
  /** Vehicles whose stored normal someone else wrote (an import): read again before their next readings. */
  const reload = new Set<string>();
  let current: OnlineScorer | undefined;
  let lastSave = now();
  let saveTimer: NodeJS.Timeout | undefined;
  let saving: Promise<void> = Promise.resolve();
  let saves = 0;
  const stats: NormalsStats = { normalsLoaded: 0, normalsSaved: 0, droppedRows: 0 };

  /** The slot's scorer at this turn; a new one (a deploy) takes over every known vehicle's normal. */
  function adopt(scorer: OnlineScorer): void {
    if (scorer === current) return;
    const previous = current;
    current = scorer;
    if (!previous) return;
    for (const id of previous.takeChangedNormals()) changed.add(id);
    let carried = 0;
    for (const id of tenants.keys()) {
      const normal = previous.normal(id);
      if (!normal || scorer.normal(id) !== undefined) continue;
      try {
        scorer.seedNormal(id, normal);
        carried++;
      } catch (err) {
        logger?.error({ vehicleId: id, err: (err as Error).message }, 'vehicle normal not taken by the new scorer');
      }
    }
    if (carried > 0) logger?.info({ vehicles: carried }, 'vehicle normals carried over to the newly deployed model');
  }

  /**
   * The runs that may be scored now; the rest (vehicles whose stored normal is not read yet) wait,
   * and one query is started for this slice's new vehicles. A run is one vehicle's readings (a
   * message is one device's batch), so the decision is made once per run, and a slice with nothing
   * to hold is handed back as it is.
   */
  function admit(scorer: OnlineScorer, runs: readonly R[]): readonly R[] {
    let admitted: R[] | undefined;
    const unknown: string[] = [];
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      const id = run.vehicleId;
      let held = waiting.get(id);
      if (!held && (scorer.normal(id) === undefined || reload.has(id))) {
        held = { runs: [], rows: 0, loaded: false };
        waiting.set(id, held);
        unknown.push(id);
      }
      if (!tenants.has(id)) tenants.set(id, run.tenantId);
      if (held) {
        admitted ??= runs.slice(0, i);
        held.runs.push(run);
        held.rows += run.end - run.start;
        waitingRows += run.end - run.start;
      } else admitted?.push(run);
    }
    if (unknown.length > 0) load(unknown);
    return admitted ?? runs;
  }

  function load(ids: string[]): void {
    loads++;
    store
      .loadNormals(ids)
      .then(
        ({ found, unreadable }) => {
          for (const { vehicleId, message } of unreadable)
            logger?.warn({ vehicleId, err: message }, 'stored vehicle normal unreadable; the vehicle calibrates again');
          // Seeded into the scorer in the slot now (a deploy may have come in between).
          const scorer = current;
          for (const id of ids) {
            const stored = found.get(id);
            revisions.set(id, stored?.revision ?? null);
            const again = reload.delete(id);
            try {
              if (stored?.normal && scorer && (again || scorer.normal(id) === undefined)) {
                scorer.seedNormal(id, stored.normal);
                stats.normalsLoaded++;
              }
            } catch (err) {
              logger?.error(
                { vehicleId: id, err: (err as Error).message },
                'stored vehicle normal not taken by the scorer',
              );
            }
            const held = waiting.get(id);
            if (held) held.loaded = true;
          }
          ready.push(...ids);
        },
        (err: Error) => {
          let dropped = 0;
          for (const id of ids) {
            const held = waiting.get(id);
            if (!held) continue;
            dropped += held.rows;
            waiting.delete(id);
          }
          waitingRows -= dropped;
          stats.droppedRows += dropped;
          logger?.error(
            { err: err.message, vehicles: ids.length, dropped },
            'stored vehicle normals not read; these readings are stored, not scored',
          );
        },
      )
      .finally(() => {
        loads--;
        options.onSettled();
      });
  }

  /** Readings whose vehicle's normal has arrived, to score before anything taken later. */
  function released(): R[] {
    if (ready.length === 0) return [];
    const runs: R[] = [];
    for (const id of ready) {
      const held = waiting.get(id);
      if (!held?.loaded) continue;
      waiting.delete(id);
      waitingRows -= held.rows;
      for (const run of held.runs) runs.push(run);
    }
    ready = [];
    return runs;
  }

  /** After a turn: notes what changed, writes when a save is due, else makes sure one comes. */
  function afterTurn(scorer: OnlineScorer, modelVersion: string | null): void {
    for (const id of scorer.takeChangedNormals()) changed.add(id);
    if (changed.size === 0) return;
    if (now() - lastSave >= saveEveryMs) {
      if (saves === 0) void save(modelVersion);
    } else if (!saveTimer) {
      // A quiet spell after the last trip must not leave its learning unwritten until the next one.
      saveTimer = setTimeout(
        () => {
          saveTimer = undefined;
          if (current) for (const id of current.takeChangedNormals()) changed.add(id);
          void save(modelVersion);
        },
        Math.max(0, lastSave + saveEveryMs - now()),
      );
      saveTimer.unref();
    }
  }

  /** Writes every changed normal now (stop, idle), after any save under way. */
  function flush(modelVersion: string | null): Promise<void> {
    if (current) for (const id of current.takeChangedNormals()) changed.add(id);
    return save(modelVersion);
  }

  function save(modelVersion: string | null): Promise<void> {
    saves++;
    saving = saving.then(async () => {
      lastSave = now();
      if (saveTimer) {
        clearTimeout(saveTimer);
        saveTimer = undefined;
      }
      const entries = takeEntries();
      if (entries.length === 0) return;
      try {
        // The JSON is made here (on the scoring thread when there is one), not by the database's thread.
        const written = await store.saveNormals(vehicleNormalRecords(entries), modelVersion);
        for (const e of entries) {
          const revision = written.get(e.vehicleId);
          if (revision !== undefined) revisions.set(e.vehicleId, revision);
          // Not written: someone else's normal is stored now (or the vehicle is gone); read it back.
          else reload.add(e.vehicleId);
        }
        stats.normalsSaved += written.size;
      } catch (err) {
        // Kept for the next save: learning is lost only if the process ends before the database returns.
        for (const e of entries) changed.add(e.vehicleId);
        logger?.error(
          { err: (err as Error).message, vehicles: entries.length },
          'vehicle normals not saved; will retry',
        );
      }
    });
    const done = saving.finally(() => void saves--);
    return done;
  }

  function takeEntries(): VehicleNormalEntry[] {
    const entries: VehicleNormalEntry[] = [];
    for (const vehicleId of changed) {
      const tenantId = tenants.get(vehicleId);
      const normal: VehicleNormal | undefined = current?.normal(vehicleId);
      if (tenantId === undefined || normal === undefined || reload.has(vehicleId)) continue;
      const revision = revisions.get(vehicleId);
      // A vehicle this keeper never read (its scorer knew it already) writes over whatever is stored.
      entries.push(
        revision === undefined ? { tenantId, vehicleId, normal } : { tenantId, vehicleId, normal, revision },
      );
    }
    changed.clear();
    return entries;
  }

  return {
    adopt,
    admit,
    released,
    afterTurn,
    flush,
    /** Loads under way or readings waiting for one. */
    busy: () => loads > 0 || waiting.size > 0,
    /** Some waiting readings can be scored now. */
    hasReleased: () => ready.length > 0,
    waitingRows: () => waitingRows,
    stats: (): NormalsStats => ({ ...stats }),
  };
}

export type NormalsKeeper<R extends HeldReadings> = ReturnType<typeof createNormalsKeeper<R>>;
