import type { Database } from '@clutch/db';
import type { VehicleNormal } from '@clutch/ml';
import { loadVehicleNormals, saveVehicleNormals, type VehicleNormalEntry } from '../normals/repository.js';
import { storeAlerts, type ScoredAlert } from './alerts.js';

/** A vehicle's stored normal as read (`normal` null: a row that did not parse), with its revision. */
export interface LoadedNormal {
  normal: VehicleNormal | null;
  revision: number;
}

export interface LoadedNormals {
  /** Vehicles with a stored row; absent ones have none. */
  found: Map<string, LoadedNormal>;
  /** Rows that did not parse: the vehicle calibrates again, and the reason is logged. */
  unreadable: { vehicleId: string; message: string }[];
}

/**
 * Everything scoring reads and writes, as plain data in and out: the scoring consumer and the
 * normals keeper need no database of their own, so they can run on a thread that has none
 * (threaded.ts), their writes made by the thread that owns the database.
 */
export interface ScoringStore {
  loadNormals(vehicleIds: readonly string[]): Promise<LoadedNormals>;
  /** Writes the entries in one transaction; returns the revision written per vehicle (absent: refused, see saveVehicleNormals). */
  saveNormals(entries: readonly VehicleNormalEntry[], modelVersion: string | null): Promise<Map<string, number>>;
  /** Stores the alerts with their outbox events in one transaction (alerts.ts storeAlerts); their ids, in order. */
  storeAlerts(raised: readonly ScoredAlert[], modelVersion: string | null): Promise<string[]>;
}

/** Normals per INSERT statement of a save (all of a save's statements share one transaction). */
const SAVE_CHUNK = 200;

/** The store on the database itself. */
export function databaseScoringStore(db: Database, options: { saveChunk?: number } = {}): ScoringStore {
  const chunk = options.saveChunk ?? SAVE_CHUNK;
  return {
    async loadNormals(vehicleIds) {
      const unreadable: LoadedNormals['unreadable'] = [];
      const found = await loadVehicleNormals(db, vehicleIds, (vehicleId, err) =>
        unreadable.push({ vehicleId, message: err.message }),
      );
      return { found, unreadable };
    },
    saveNormals(entries, modelVersion) {
      return db.transaction(async (tx) => {
        const all = new Map<string, number>();
        for (let i = 0; i < entries.length; i += chunk)
          for (const [id, revision] of await saveVehicleNormals(tx, entries.slice(i, i + chunk), { modelVersion }))
            all.set(id, revision);
        return all;
      });
    },
    storeAlerts: (raised, modelVersion) => storeAlerts(db, raised, modelVersion),
  };
}
