import type { Duplex } from 'node:stream';
import type { SerialPort } from 'serialport';
import { agentError } from '../errors.js';
import { openSerialPort } from '../transport/serial-port.js';
import { Elm327Simulator, type SimulatorOptions } from './elm327-simulator.js';

export interface StartSimulatorOptions extends SimulatorOptions {
  /** In-process stream (one end of createLinkedStreams()). */
  readonly stream?: Duplex;
  /** Serial device path, e.g. one end of a socat PTY pair. */
  readonly path?: string;
  readonly baudRate?: number;
}

export interface RunningSimulator {
  close(): Promise<void>;
  /** Index of the drive row being served now. */
  rowIndex(): number;
  readonly simulator: Elm327Simulator;
}

/** Starts an ELM327 simulator answering on `stream` or on the serial device at `path`. */
export async function startSimulator(options: StartSimulatorOptions): Promise<RunningSimulator> {
  let stream: Duplex;
  let port: SerialPort | undefined;
  if (options.stream) stream = options.stream;
  else if (options.path) stream = port = await openSerialPort(options.path, options.baudRate ?? 38400);
  else throw agentError('SIMULATOR_NO_TRANSPORT');
  const simulator = new Elm327Simulator(options, (text) => {
    if (!stream.destroyed && stream.writable) stream.write(Buffer.from(text, 'latin1'));
  });
  const onData = (chunk: Buffer) => simulator.receive(chunk);
  stream.on('data', onData);
  stream.on('error', () => {}); // a closed peer must not crash the simulator process
  return {
    simulator,
    rowIndex: () => simulator.rowIndex(),
    async close() {
      stream.off('data', onData);
      if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}
