// Reads the car's diagnostic state: DTCs (Modes 03/07/0A), VIN and ECU name (Mode 09), battery
// voltage (ATRV), and the freeze frame (Mode 02) with the DTC that stored it.
import { type DtcReport } from '@clutch/contracts';
import { dtcDescription, sae1979Signalset, type Signalset } from '@clutch/firmware-profiles';
import type { Elm327Driver } from '../elm327/driver.js';
import { decodeSignal } from '../obd/decoder.js';
import { parseFrames } from '../obd/frames.js';
import { vinFromLines } from '../obd/vin.js';
import { plausibleBatteryVoltage } from '../elm327/voltage.js';
import { isNoReply } from '../errors.js';
import { decodeDtc, dtcsFromMessages, DTC_SERVICES, type DtcKind } from './dtc.js';

export interface DiagnosticCode {
  readonly code: string;
  readonly kind: DtcKind;
  readonly ecu?: string;
  readonly description?: string;
}

export interface FreezeFrame {
  /** The DTC that caused frame 0 to be stored (SAE J1979 Mode 02 PID 02). */
  readonly dtc?: string;
  readonly values: Readonly<Record<string, number | string | null>>;
}

export interface Diagnostics {
  readonly codes: DiagnosticCode[];
  readonly vin?: string;
  readonly ecuName?: string;
  readonly batteryVoltage?: number;
  readonly freezeFrame?: FreezeFrame;
}

/** PIDs read from freeze frame 0 when a DTC stored one (the ones a technician asks for first). */
const FREEZE_FRAME_PIDS = ['04', '05', '06', '07', '0B', '0C', '0D', '0F', '11'];

/** SAE J1979 Mode 09 PID 0A: ECU name, 20 ASCII bytes after `49 0A <count>` (e.g. 'ECM-EngineControl'). */
export function ecuNameFromLines(lines: readonly string[]): string | undefined {
  for (const m of parseFrames(lines)) {
    if (m.data[0] !== 0x49 || m.data[1] !== 0x0a) continue;
    const text = Buffer.from(m.data.subarray(3))
      .toString('latin1')
      .replace(/\0/g, ' ')
      .replace(/[^\x20-\x7e]/g, '')
      .trim();
    if (text) return text.replace(/\s+/g, ' ');
  }
  return undefined;
}

async function ask(driver: Elm327Driver, command: string, timeoutMs = 5000): Promise<readonly string[] | undefined> {
  try {
    const reply = await driver.send(command, timeoutMs);
    return reply.ok ? reply.lines : undefined;
  } catch (err) {
    if (isNoReply(err)) return undefined;
    throw err;
  }
}

export async function readDtcs(driver: Elm327Driver, isCan = true): Promise<DiagnosticCode[]> {
  const out: DiagnosticCode[] = [];
  for (const kind of ['stored', 'pending', 'permanent'] as const) {
    const service = DTC_SERVICES[kind];
    const lines = await ask(driver, service.toString(16).toUpperCase().padStart(2, '0'));
    if (!lines) continue; // NO DATA: no codes of this kind (or the ECU lacks the mode)
    for (const { code, ecu } of dtcsFromMessages(service, parseFrames(lines), isCan)) {
      const description = dtcDescription(code);
      out.push({ code, kind, ...(ecu ? { ecu } : {}), ...(description ? { description } : {}) });
    }
  }
  return out;
}

export async function readFreezeFrame(
  driver: Elm327Driver,
  set: Signalset = sae1979Signalset(),
): Promise<FreezeFrame | undefined> {
  // SAE J1979 Mode 02: request `02 <pid> <frame>`; reply `42 <pid> <frame> <data>`.
  const dtcLines = await ask(driver, '020200');
  if (!dtcLines) return undefined;
  const msg = parseFrames(dtcLines).find((m) => m.data[0] === 0x42 && m.data[1] === 0x02);
  if (!msg || (msg.data[3] === 0 && msg.data[4] === 0)) return undefined; // no freeze frame stored
  const values: Record<string, number | string | null> = {};
  for (const pid of FREEZE_FRAME_PIDS) {
    const command = set.commands.find((c) => c.cmd['01']?.toUpperCase() === pid);
    if (!command) continue;
    const lines = await ask(driver, `02${pid}00`);
    const m = lines && parseFrames(lines).find((x) => x.data[0] === 0x42 && x.data[1] === parseInt(pid, 16));
    if (!m) continue;
    const data = m.data.subarray(3);
    for (const s of command.signals) values[s.id] = decodeSignal(s.fmt, data);
  }
  return { dtc: decodeDtc(msg.data[3]!, msg.data[4]!), values };
}

export async function readDiagnostics(
  driver: Elm327Driver,
  options: { isCan?: boolean; withFreezeFrame?: boolean } = {},
): Promise<Diagnostics> {
  const codes = await readDtcs(driver, options.isCan ?? true);
  const vinLines = await ask(driver, '0902');
  const nameLines = await ask(driver, '090A');
  const rv = await ask(driver, 'ATRV', 2000);
  const freezeFrame = options.withFreezeFrame && codes.length > 0 ? await readFreezeFrame(driver) : undefined;
  const vin = vinLines ? vinFromLines(vinLines) : undefined;
  const ecuName = nameLines ? ecuNameFromLines(nameLines) : undefined;
  const batteryVoltage = rv ? plausibleBatteryVoltage(rv) : undefined;
  return {
    codes,
    ...(vin ? { vin } : {}),
    ...(ecuName ? { ecuName } : {}),
    ...(batteryVoltage !== undefined ? { batteryVoltage } : {}),
    ...(freezeFrame ? { freezeFrame } : {}),
  };
}

/** SAE J1979 Mode 04: clears DTCs, freeze frames and readiness. Only ever called for an authorised command. */
export async function clearDtcs(driver: Elm327Driver): Promise<boolean> {
  const lines = await ask(driver, '04', 10_000);
  return lines !== undefined && parseFrames(lines).some((m) => m.data[0] === 0x44);
}

/** The `dtc` topic payload (contracts dtcReportSchema). Descriptions stay on the device side. */
export function dtcReport(codes: readonly DiagnosticCode[], t = Date.now()): DtcReport {
  return { v: 1, t, codes: codes.map((c) => ({ code: c.code, kind: c.kind, ...(c.ecu ? { ecu: c.ecu } : {}) })) };
}
