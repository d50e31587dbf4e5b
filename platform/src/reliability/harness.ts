// Broker + ingest + PGlite, restartable on a fixed port: the server side of the reliability tests.
import { createInProcessBus } from '@clutch/contracts';
import { startBroker, type RunningBroker } from '@clutch/broker';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { handoffSource, startIngest, type RunningIngest } from '@clutch/ingest';
import { ensureDevice, type ProvisionedDevice } from '../fleet/provision.js';

export interface ServerSide {
  readonly db: Database;
  readonly device: ProvisionedDevice;
  /** MQTT credential of the device (the development policy accepts anyone; kept for production-like runs). */
  readonly login: { username: string; password: string };
  readonly port: number;
  readonly mqttUrl: string;
  readonly up: boolean;
  /** Closes the broker (connections drop, the port refuses) and lets ingest commit what it took. */
  stopBroker(): Promise<void>;
  /** Starts a fresh broker and ingest on the same port. */
  startBroker(): Promise<void>;
  /** Rows stored for the device's vehicle as "<signal key>@<epoch ms>". */
  storedSamples(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startServerSide(tenant: string, deviceId: string): Promise<ServerSide> {
  const db = await openTestDatabase('pglite');
  const { login, ...device } = await ensureDevice(db, {
    tenantId: tenant,
    tenantName: tenant,
    deviceId,
    vehicle: { name: 'Reliability car' },
  });
  let broker: RunningBroker | undefined;
  let ingest: RunningIngest | undefined;
  let port = 0;
  const start = async () => {
    // As the platform runs: the broker acknowledges a device's message once ingest committed it.
    const source = handoffSource();
    broker = await startBroker({ mqttPort: port, durableHandoff: source });
    port = broker.mqttPort;
    ingest = await startIngest({ db, bus: createInProcessBus(), source });
  };
  const stop = async () => {
    // Broker first: connections drop, and whatever ingest had not committed was never acknowledged.
    await broker?.close();
    await ingest?.stop();
    broker = undefined;
    ingest = undefined;
  };
  await start();
  return {
    db,
    device,
    login,
    get port() {
      return port;
    },
    get mqttUrl() {
      return `mqtt://127.0.0.1:${port}`;
    },
    get up() {
      return broker !== undefined;
    },
    stopBroker: stop,
    startBroker: start,
    async storedSamples() {
      const { rows } = await db.query<{ key: string; ms: string }>(
        `SELECT s.key, (extract(epoch FROM x.time) * 1000)::bigint::text AS ms
           FROM samples x JOIN signals s ON s.id = x.signal_id WHERE x.vehicle_id = $1`,
        [device.vehicleId],
      );
      return rows.map((r) => `${r.key}@${r.ms}`);
    },
    async close() {
      await stop();
      await db.close();
    },
  };
}

export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function duplicates(keys: readonly string[]): string[] {
  const seen = new Set<string>();
  return keys.filter((k) => (seen.has(k) ? true : (seen.add(k), false)));
}
