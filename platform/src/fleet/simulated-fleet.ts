import {
  createLinkedStreams,
  listCarObdDrives,
  loadCarObdDrive,
  simulatedVehicle,
  startAgent,
  startSimulator,
  syntheticDrive,
} from '@clutch/gateway-agent';
import type { Database } from '@clutch/db';
import type { Logger } from 'pino';
import { ensureDevice, type ProvisionedDevice } from './provision.js';

export const DEMO_TENANT = 'demo';
/** The tenant of every car owner (migration 020); the demo owner's simulated cars live there. */
export const CONSUMER_TENANT = 'consumers';

/**
 * The odd-numbered simulated cars (1, 3, ...) are private cars in the consumer tenant (the demo
 * owner's, `seedDemoAccounts`), the others the `demo` partner's fleet: so signing in as the owner
 * shows some cars and not others. Their devices are in the same tenant, so ingest stores their data
 * there and their live events reach the owner.
 */
export function simulatedCarTenant(i: number): { tenantId: string; tenantName: string } {
  return i % 2 === 1
    ? { tenantId: CONSUMER_TENANT, tenantName: 'Car owners' }
    : { tenantId: DEMO_TENANT, tenantName: 'Demo fleet' };
}

export interface RunningFleet {
  devices: ProvisionedDevice[];
  /** Which data the simulators replay: carOBD drive files or synthetic drives. */
  source: string;
  stats(): { agents: number; batchesSent: number; samplesSent: number };
  stop(): Promise<void>;
}

type Agent = Awaited<ReturnType<typeof startAgent>>;
type Simulator = Awaited<ReturnType<typeof startSimulator>>;

/**
 * N simulated cars: each is an ELM327 simulator replaying a drive and a real gateway agent talking
 * to it over an in-process serial link, publishing to the broker like a car in the field.
 */
export async function startSimulatedFleet(options: {
  db: Database;
  mqttUrl: string;
  vehicles: number;
  datasetsDir?: string | undefined;
  rowIntervalMs: number;
  logger: Logger;
}): Promise<RunningFleet> {
  const drives = listCarObdDrives(options.datasetsDir).filter((file) => /(drive|live|long|ufpe)\d+\.csv$/.test(file));
  const source =
    drives.length > 0 ? `carOBD drives (${drives.length} files)` : 'synthetic drives (carOBD dataset not found)';
  const devices: ProvisionedDevice[] = [];
  const agents: Agent[] = [];
  const simulators: Simulator[] = [];
  for (let i = 1; i <= options.vehicles; i++) {
    const deviceId = `sim-${String(i).padStart(3, '0')}`;
    // Varied cars: make/model/year from the OBDb profiles with a matching VIN, its own DTC scenario,
    // ECU latency and adapter quirks; the engine data replays a carOBD drive.
    const car = simulatedVehicle(i, options.datasetsDir);
    const { login, ...device } = await ensureDevice(options.db, {
      ...simulatedCarTenant(i),
      deviceId,
      vehicle: {
        name: `Demo car ${i}: ${car.make} ${car.model} ${car.modelYear}`,
        vin: car.vin,
        make: car.make,
        model: car.model,
        modelYear: car.modelYear,
      },
    });
    devices.push(device);
    const drive = drives.length > 0 ? loadCarObdDrive(drives[(i - 1) % drives.length]!) : syntheticDrive(i);
    const [carSide, agentSide] = createLinkedStreams();
    simulators.push(
      await startSimulator({
        stream: carSide,
        drive,
        rowIntervalMs: options.rowIntervalMs,
        vin: car.vin,
        dtcs: car.dtcs,
        quirks: car.quirks,
        ecuLatencyMs: car.ecuLatencyMs,
        ...(car.replay ? { replay: car.replay } : {}),
      }),
    );
    agents.push(
      await startAgent({
        transport: { stream: agentSide },
        mqttUrl: options.mqttUrl,
        tenant: device.tenantId,
        device: deviceId,
        username: login.username,
        password: login.password,
        logger: options.logger.child({ device: deviceId }),
      }),
    );
  }
  return {
    devices,
    source,
    stats() {
      const all = agents.map((a) => a.stats());
      return {
        agents: agents.length,
        batchesSent: all.reduce((n, s) => n + s.batchesSent, 0),
        samplesSent: all.reduce((n, s) => n + s.samplesSent, 0),
      };
    },
    async stop() {
      // Agents first: each flushes its last batch and waits for the broker's PUBACK.
      await Promise.allSettled(agents.map((a) => a.stop()));
      await Promise.allSettled(simulators.map((s) => s.close()));
    },
  };
}
