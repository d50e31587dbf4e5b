import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevCa, startBroker, tenantPolicy, type RunningBroker } from '@clutch/broker';
import { createInProcessBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { createLinkedStreams, startAgent, startSimulator, syntheticDrive } from '@clutch/gateway-agent';
import { handoffSource, startIngest, type RunningIngest } from '@clutch/ingest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevice } from '../fleet/provision.js';

// A car whose gateway logs in with a client certificate (CN tenant/device) over mqtts://, no password.
describe('gateway agent with a client certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clutch-cert-agent-'));
  let db: Database;
  let broker: RunningBroker;
  let ingest: RunningIngest;

  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    await ensureDevice(db, {
      tenantId: 'acme',
      tenantName: 'Acme',
      deviceId: 'pi-cert',
      vehicle: { name: 'Cert car' },
    });
    const files = createDevCa({ outDir: dir, devices: ['acme/pi-cert'] });
    const source = handoffSource();
    broker = await startBroker({
      mqttPort: 0,
      policy: tenantPolicy({ db }),
      durableHandoff: source,
      tls: {
        port: 0,
        key: readFileSync(files.server.key),
        cert: readFileSync(files.server.cert),
        ca: readFileSync(files.ca.cert),
      },
    });
    ingest = await startIngest({
      db,
      bus: createInProcessBus(),
      source,
      rollupIntervalMs: 0,
      maintenanceIntervalMs: 0,
    });
  }, 60_000);
  afterAll(async () => {
    await ingest?.stop();
    await broker?.close();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes readings that are stored for its vehicle', async () => {
    const files = createDevCa({ outDir: dir, devices: ['acme/pi-cert'] });
    const device = files.devices.find((d) => d.username === 'acme/pi-cert')!;
    const [carSide, agentSide] = createLinkedStreams();
    const simulator = await startSimulator({ stream: carSide, drive: syntheticDrive(3), rowIntervalMs: 100 });
    const agent = await startAgent({
      transport: { stream: agentSide },
      mqttUrl: `mqtts://localhost:${broker.tlsPort}`,
      tenant: 'acme',
      device: 'pi-cert',
      caFile: files.ca.cert,
      certFile: device.cert,
      keyFile: device.key,
      batchIntervalMs: 200,
    });
    try {
      await expect
        .poll(
          async () =>
            Number(
              (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM samples WHERE tenant_id = 'acme'`))
                .rows[0]!.n,
            ),
          { timeout: 20_000 },
        )
        .toBeGreaterThan(10);
    } finally {
      await agent.stop();
      await simulator.close();
    }
  });
});
