// Reads NMEA from a serial GPS and hands on one fix per second (the location topic's rate).
import type { Duplex } from 'node:stream';
import type { LocationFix } from '@clutch/contracts';
import type { Logger } from 'pino';
import { backoffDelay } from '../transport/backoff.js';
import { openSerialPort } from '../transport/serial-port.js';
import { FixBuilder, parseNmea } from './nmea.js';

export interface GpsReaderOptions {
  readonly open: () => Promise<Duplex>;
  readonly onFix: (fix: LocationFix) => void;
  readonly logger: Logger;
  readonly minIntervalMs?: number;
}

export interface GpsReader {
  readonly fixes: number;
  /** Sentences refused (bad checksum or form). */
  readonly refused: number;
  stop(): Promise<void>;
}

export function serialGps(path: string, baudRate: number): () => Promise<Duplex> {
  return () => openSerialPort(path, baudRate);
}

export function startGpsReader(options: GpsReaderOptions): GpsReader {
  let running = true;
  let stream: Duplex | undefined;
  let fixes = 0;
  let refused = 0;
  let lastSent = 0;
  const loop = async () => {
    for (let attempt = 0; running;) {
      try {
        stream = await options.open();
        attempt = 0;
      } catch (err) {
        options.logger.warn({ err: (err as Error).message }, 'GPS port unavailable; retrying');
        await new Promise((r) => setTimeout(r, backoffDelay(attempt++)));
        continue;
      }
      const builder = new FixBuilder();
      let partial = '';
      await new Promise<void>((resolve) => {
        stream!.on('data', (chunk: Buffer) => {
          const lines = (partial + chunk.toString('latin1')).split(/\r?\n/);
          partial = (lines.pop() ?? '').slice(-512);
          for (const line of lines) {
            if (!line.startsWith('$')) continue;
            const sentence = parseNmea(line);
            if (!sentence) {
              refused++;
              continue;
            }
            const fix = builder.push(sentence);
            if (fix && fix.t - lastSent >= (options.minIntervalMs ?? 1000)) {
              lastSent = fix.t;
              fixes++;
              options.onFix(fix);
            }
          }
        });
        stream!.once('close', () => resolve());
        stream!.once('error', () => resolve());
      });
    }
  };
  const done = loop();
  return {
    get fixes() {
      return fixes;
    },
    get refused() {
      return refused;
    },
    async stop() {
      running = false;
      stream?.destroy();
      await done;
    },
  };
}
