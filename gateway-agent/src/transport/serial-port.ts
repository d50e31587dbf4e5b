// The real transport: a serial device (USB ELM327 /dev/ttyUSB0, Bluetooth RFCOMM /dev/rfcomm0, or one
// end of a socat PTY pair in tests). The agent reads the car through it; the simulator can answer on one.
import { SerialPort } from 'serialport';

/** Opens `path` at `baudRate` (8N1) and resolves once the port is open; rejects with the OS error. */
export async function openSerialPort(path: string, baudRate: number): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return port;
}
