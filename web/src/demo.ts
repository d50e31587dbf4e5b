import { startApiServer, type ApiServer } from '@clutch/api';
import { createInProcessBus, signalByKey, signalCatalogue, type LiveEventBus } from '@clutch/contracts';
import { migrate, openPglite, syncSignals, type Database } from '@clutch/db';
import { pino } from 'pino';

/**
 * A real API server on an in-memory database with one vehicle worth looking at: recent readings, an
 * alert, a trouble code and a gateway that went offline. The page tests and the Lighthouse check share
 * it so both look at the pages with the same data a user would see.
 */
export const DEMO_VEHICLE = '3f2e1d0c-9b8a-4765-8432-10fedcba9876';
export const OTHER_VEHICLE = '7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d';
export const DEMO_TENANT = 'acme';

export interface DemoServer {
  url: string;
  api: ApiServer;
  bus: LiveEventBus;
  /** The demo's database, for a test that stores what a gateway would have sent. */
  db: Database;
  close(): Promise<void>;
}

async function seed(db: Database, now: number): Promise<void> {
  const id = (key: string): number => signalByKey(key)!.id;
  await db.query(`INSERT INTO tenants (id, name) VALUES ($1, 'Acme')`, [DEMO_TENANT]);
  await db.query(
    `INSERT INTO vehicles (id, tenant_id, name, make, model, model_year, vin) VALUES
       ($1, $3, 'Red roadster', 'Mazda', 'MX-5', 2018, 'JM1NDAD75J0123456'), ($2, $3, 'Other car', 'Toyota', 'Camry', 2019, NULL)`,
    [DEMO_VEHICLE, OTHER_VEHICLE, DEMO_TENANT],
  );
  const rows: [number, string, number, number][] = [
    [now - 90_000, DEMO_VEHICLE, id('engine.rpm'), 1800],
    [now - 60_000, DEMO_VEHICLE, id('engine.rpm'), 1950],
    [now - 20_000, DEMO_VEHICLE, id('engine.rpm'), 2150],
    [now - 20_000, DEMO_VEHICLE, id('vehicle.speed'), 57],
    [now - 20_000, DEMO_VEHICLE, id('engine.coolant_temp'), 91],
    // No battery.voltage: the tile must fall back to the ECU's reading.
    [now - 20_000, DEMO_VEHICLE, id('ecu.control_module_voltage'), 13.9],
    [now - 5_000, OTHER_VEHICLE, id('engine.rpm'), 4444],
    // The other car runs on the Toyota-Camry OBDb profile: two of its vehicle-specific signals.
    [now - 5_000, OTHER_VEHICLE, id('vehicle.camry_12v_v'), 12.4],
    [now - 5_000, OTHER_VEHICLE, id('vehicle.camry_at_lock_up_state'), 1],
  ];
  await db.query(
    `INSERT INTO samples (time, tenant_id, vehicle_id, signal_id, value)
     SELECT t, $1, v, s, x FROM unnest($2::timestamptz[], $3::uuid[], $4::smallint[], $5::float8[]) AS u(t, v, s, x)`,
    [DEMO_TENANT, rows.map((r) => new Date(r[0])), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
  );
  // The gateway dropped off ten minutes ago; one alert from ingest's scoring and a lean-mixture code.
  await db.query(
    `INSERT INTO devices (tenant_id, id, vehicle_id, last_seen_at, online, presence_changed_at) VALUES ($1, 'pi-red', $2, $3, false, $3)`,
    [DEMO_TENANT, DEMO_VEHICLE, new Date(now - 600_000)],
  );
  await db.query(
    `INSERT INTO alerts (time, tenant_id, vehicle_id, kind, severity, title, explanation, signals, details, model_version) VALUES
       ($1, $2, $3, 'fuel_trim', 'warning', 'Engine running lean at idle',
        'Long-term fuel trim is +18 % at idle and falls under load: the engine is drawing air the sensor does not measure. Check intake hoses and gaskets for a vacuum leak.',
        '{fuel.trim.long_term_b1,fuel.trim.short_term_b1}', '{}', 'rules-only')`,
    [new Date(now - 3600_000), DEMO_TENANT, DEMO_VEHICLE],
  );
  await db.query(
    `INSERT INTO dtc_events (time, tenant_id, vehicle_id, code, kind, ecu) VALUES ($1, $2, $3, 'P0171', 'stored', '7E8')`,
    [new Date(now - 1800_000), DEMO_TENANT, DEMO_VEHICLE],
  );
}

export async function startDemoServer(webRoot: string, port = 0): Promise<DemoServer> {
  const db = await openPglite();
  await migrate(db);
  await syncSignals(db, signalCatalogue);
  await seed(db, Date.now());
  const bus = createInProcessBus();
  const api = await startApiServer({
    db,
    bus,
    health: async () => ({}),
    logger: pino({ level: 'silent' }),
    webRoot,
    port,
  });
  return {
    url: api.url,
    api,
    bus,
    db,
    async close() {
      await api.close();
      await db.close();
    },
  };
}

/** Publishes a plausible idle-to-cruise reading for the demo vehicle every `everyMs` (gateways batch once a second); returns a stop function. */
export function driveDemoVehicle(bus: LiveEventBus, everyMs = 1000): () => void {
  let step = 0;
  const timer = setInterval(() => {
    step++;
    const time = new Date().toISOString();
    bus.publish({
      type: 'readings',
      tenantId: DEMO_TENANT,
      vehicleId: DEMO_VEHICLE,
      readings: [
        { signal: 'engine.rpm', time, value: 2000 + 800 * Math.sin(step / 6) },
        { signal: 'vehicle.speed', time, value: 60 + 20 * Math.sin(step / 9) },
        { signal: 'battery.voltage', time, value: 14.1 },
      ],
    });
  }, everyMs);
  return () => clearInterval(timer);
}
