import type { Database } from '@clutch/db';
import type { VehicleNormal } from '@clutch/ml';
import { loadVehicleNormals, saveVehicleNormalRecords } from '../normals/repository.js';
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
  /**
   * Writes normals in one transaction, as records made by vehicleNormalRecords (on the caller's
   * thread: a fleet's save is megabytes of JSON); returns the revision written per vehicle (absent:
   * refused, see saveVehicleNormals).
   */
  saveNormals(records: readonly string[], modelVersion: string | null): Promise<Map<string, number>>;
  /** Stores the alerts with their outbox events in one transaction (alerts.ts storeAlerts); their ids, in order. */
  storeAlerts(raised: readonly ScoredAlert[], modelVersion: string | null): Promise<string[]>;
}

/** The store on the database itself. */
export function databaseScoringStore(db: Database): ScoringStore {
  return {
    async loadNormals(vehicleIds) {
      const unreadable: LoadedNormals['unreadable'] = [];
      const found = await loadVehicleNormals(db, vehicleIds, (vehicleId, err) =>
        unreadable.push({ vehicleId, message: err.message }),
      );
      return { found, unreadable };
    },
    saveNormals(records, modelVersion) {
      return db.transaction(async (tx) => {
        const written = new Map<string, number>();
        for (const statement of records)
          for (const [id, revision] of await saveVehicleNormalRecords(tx, statement, { modelVersion }))
            written.set(id, revision);
        return written;
      });
    },
    storeAlerts: (raised, modelVersion) => storeAlerts(db, raised, modelVersion),
  };
}
