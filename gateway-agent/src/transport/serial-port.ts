// The real transport: a serial device (USB ELM327 /dev/ttyUSB0, Bluetooth RFCOMM /dev/rfcomm0, or one
// end of a socat PTY pair in tests). The agent reads the car through it; the simulator can answer on one.
import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';

/** Opens `path` at `baudRate` (8N1) and resolves once the port is open; rejects with the OS error. */
export async function openSerialPort(path: string, baudRate: number): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return port;
}

/** A byte stream that may be a serial port (SerialPort's close(), isOpen). */
type MaybePort = Duplex & { readonly isOpen?: boolean; close?: (callback: (err?: Error | null) => void) => void };

/** A port whose close does not finish in this long (a wedged driver) is destroyed and left to the OS. */
const CLOSE_TIMEOUT_MS = 2000;

/**
 * Lets go of a stream the agent opened. A serial port must be closed, not just destroyed: SerialPort has
 * no _destroy, so destroy() alone keeps the descriptor and its exclusive lock (flock), and every later
 * open of the same device fails with "Cannot lock port". Other streams are destroyed. Never rejects.
 */
export async function releaseStream(stream: Duplex): Promise<void> {
  const port = stream as MaybePort;
  if (typeof port.close === 'function' && port.isOpen) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      port.close!(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  if (!stream.destroyed) stream.destroy();
}
