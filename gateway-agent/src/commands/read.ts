import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { AdapterLink } from '../agent/adapter-link.js';
import { startPoller } from '../agent/poller.js';
import { readDiagnostics } from '../diagnostics/diagnostics.js';
import { agentError } from '../errors.js';

/**
 * `clutch-agent read`: checks an adapter and car without any broker. Prints one JSON line with the
 * adapter, protocol, VIN, ECU name, supported PIDs and DTCs, then one JSON line per decoded reading.
 */
export async function readCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      baud: { type: 'string', default: '38400' },
      duration: { type: 'string', default: '10' },
    },
  });
  if (!values.port) throw agentError('USAGE', '--port is required');
  const log = pino({ level: 'warn' }, pino.destination(2));
  const link = new AdapterLink({ path: values.port, baudRate: Number(values.baud) }, log);
  const info = await link.open();
  const diagnostics = await readDiagnostics(link.driver!, { withFreezeFrame: true });
  console.log(
    JSON.stringify({
      adapter: info.banner,
      protocol: info.protocol,
      isCan: info.isCan,
      vin: info.vin ?? diagnostics.vin,
      ecuName: diagnostics.ecuName,
      batteryVoltage: info.batteryVoltage,
      profile: info.profile,
      supportedPids: [...info.supportedPids]
        .sort((a, b) => a - b)
        .map((p) => p.toString(16).toUpperCase().padStart(2, '0')),
      dtcs: diagnostics.codes,
      freezeFrame: diagnostics.freezeFrame,
    }),
  );
  const poller = startPoller({
    link,
    logger: log,
    emit: (key, value, at) => console.log(JSON.stringify({ t: new Date(at).toISOString(), signal: key, value })),
  });
  await new Promise((r) => setTimeout(r, Number(values.duration) * 1000));
  await poller.stop();
  console.error(`${poller.reads} readings, ${poller.readsPerSecond().toFixed(1)} reads/s`);
  await link.close();
  return 0;
}
