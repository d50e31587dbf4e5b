// An ELM327 v1.5 on ISO 15765-4 CAN 11/500 whose ECU replays a drive (ELM327 datasheet, "AT commands").
import { findCommandForSignal, findMode01Command, sae1979Signalset, type Signalset } from '@clutch/firmware-profiles';
import { encodeCommandData } from '../obd/encoder.js';
import { bitmapFromPids, pidHex } from '../obd/supported-pids.js';
import type { DriveSource } from './drive.js';

export interface SimulatorOptions {
  readonly drive: DriveSource;
  readonly vin?: string;
  /** Wall time per drive row (default 500 ms); the drive loops at its end. */
  readonly rowIntervalMs?: number;
  /** Row the replay starts at (default 0). */
  readonly startRow?: number;
  /** Extra delay before each OBD reply, like an ECU's response time (default 0). */
  readonly ecuLatencyMs?: number;
  readonly now?: () => number;
}

export const SIMULATOR_BANNER = 'ELM327 v1.5';
export const DEFAULT_VIN = 'JTDBT4K3X0L000001';
const ECU_ID = '7E8';
const MAX_PIDS_PER_REQUEST = 6; // SAE J1979 §8.1.2: up to six PIDs in one CAN request

interface Settings {
  echo: boolean;
  linefeeds: boolean;
  spaces: boolean;
  headers: boolean;
  /** 'A' prefix in ATDPN while the protocol was chosen automatically. */
  auto: boolean;
  /** Protocol found by the search ('0' until the first OBD request under ATSP0). */
  protocol: string;
}

const defaults = (): Settings => ({ echo: true, linefeeds: false, spaces: true, headers: false, auto: true, protocol: '0' });

export class Elm327Simulator {
  private settings = defaults();
  private input = '';
  private lastCommand = '';
  private readonly set: Signalset = sae1979Signalset();
  private readonly supported: Set<number>;
  private readonly started: number;
  private readonly now: () => number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: SimulatorOptions,
    private readonly write: (text: string) => void,
  ) {
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.supported = new Set<number>();
    for (const id of options.drive.signals) {
      const pid = findCommandForSignal(this.set, id)?.cmd['01'];
      if (pid !== undefined) this.supported.add(parseInt(pid, 16));
    }
    // SAE J1979: PID 20/40/.. is "supported" when a later range has any supported PID.
    for (const pid of [...this.supported]) for (let base = 0x20; base < pid; base += 0x20) this.supported.add(base);
  }

  get vin(): string {
    return this.options.vin ?? DEFAULT_VIN;
  }

  /** Index of the drive row being served now. */
  rowIndex(): number {
    const elapsed = this.now() - this.started;
    return Math.floor(elapsed / (this.options.rowIntervalMs ?? 500)) + (this.options.startRow ?? 0);
  }

  currentRow(): Readonly<Record<string, number>> {
    return this.options.drive.row(this.rowIndex());
  }

  /** Feeds bytes from the host; each CR completes a command (ELM327 DS: commands end with a carriage return). */
  receive(chunk: Uint8Array | string): void {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1');
    for (const ch of text) {
      if (ch === '\r') {
        const line = this.input;
        this.input = '';
        this.queue = this.queue.then(() => this.handle(line));
      } else if (ch !== '\n' && ch !== '\0') {
        this.input += ch;
      }
    }
  }

  private get eol(): string {
    return this.settings.linefeeds ? '\r\n' : '\r';
  }

  private async handle(raw: string): Promise<void> {
    // ELM327 DS: a bare CR repeats the previous command.
    const command = raw.trim() === '' ? this.lastCommand : raw.replace(/\s+/g, '').toUpperCase();
    const echo = this.settings.echo ? raw + '\r' : '';
    if (command === '') {
      this.write(echo + '>');
      return;
    }
    this.lastCommand = command;
    if (command.startsWith('AT')) {
      const lines = this.at(command.slice(2));
      if (lines === 'reset') {
        // ELM327 DS: ATZ answers with a blank line, the banner and a blank line before the prompt.
        this.write(echo + '\r\r' + SIMULATOR_BANNER + '\r\r>');
        return;
      }
      this.write(echo + lines.map((l) => l + this.eol).join('') + this.eol + '>');
      return;
    }
    const lines = this.obd(command);
    if (this.options.ecuLatencyMs) await new Promise((r) => setTimeout(r, this.options.ecuLatencyMs));
    this.write(echo + lines.map((l) => l + this.eol).join('') + this.eol + '>');
  }

  private at(cmd: string): string[] | 'reset' {
    const s = this.settings;
    const flag = (v: string | undefined): boolean | undefined => (v === '1' ? true : v === '0' ? false : undefined);
    const m = /^(E|L|S|H)([01])$/.exec(cmd);
    if (m) {
      const on = flag(m[2])!;
      if (m[1] === 'E') s.echo = on;
      if (m[1] === 'L') s.linefeeds = on;
      if (m[1] === 'S') s.spaces = on;
      if (m[1] === 'H') s.headers = on;
      return ['OK'];
    }
    if (cmd === 'Z' || cmd === 'WS') {
      this.settings = defaults();
      return 'reset';
    }
    if (cmd === 'D') {
      this.settings = { ...defaults(), echo: s.echo };
      return ['OK'];
    }
    if (cmd === 'I') return [SIMULATOR_BANNER];
    if (cmd === '@1') return ['OBDII to RS232 Interpreter'];
    if (cmd === 'RV') return [`${this.batteryVoltage().toFixed(1)}V`];
    if (cmd === 'DPN') return [s.auto ? `A${s.protocol}` : s.protocol];
    if (cmd === 'DP') return [s.protocol === '6' ? `${s.auto ? 'AUTO, ' : ''}ISO 15765-4 (CAN 11/500)` : 'AUTO'];
    const sp = /^(SP|TP)(A?)([0-9A-C])$/.exec(cmd);
    if (sp) {
      // Only CAN 11/500 exists on this simulated bus; an explicit other protocol would fail at the first request.
      s.auto = sp[3] === '0' || sp[2] === 'A';
      s.protocol = sp[3] === '0' ? '0' : sp[3]!;
      return ['OK'];
    }
    if (/^(AT[012]|ST[0-9A-F]{2}|CAF[01]|M[01]|SH[0-9A-F]{3}|CRA.*|AR|PC)$/.test(cmd)) return ['OK'];
    return ['?'];
  }

  private batteryVoltage(): number {
    // CONTROL_MODULE_VOLTAGE stands in for the battery the adapter measures on pin 16.
    const v = this.currentRow()['VPWR'];
    return v !== undefined && Number.isFinite(v) && v > 0 ? v : 12.4;
  }

  private obd(cmd: string): string[] {
    if (!/^[0-9A-F]+$/.test(cmd) || cmd.length < 2) return ['?'];
    // ELM327 DS: an odd trailing digit is the expected response count; it only shortens the wait.
    const body = cmd.length % 2 === 1 ? cmd.slice(0, -1) : cmd;
    const service = body.slice(0, 2);
    const params = (body.slice(2).match(/../g) ?? []).map((h) => parseInt(h, 16));
    const prefix: string[] = [];
    if (this.settings.protocol === '0') {
      // ELM327 DS: under ATSP0 the first request triggers the protocol search.
      prefix.push('SEARCHING...');
      this.settings.protocol = '6';
    } else if (this.settings.protocol !== '6') {
      return ['UNABLE TO CONNECT'];
    }
    let payload: number[] | null = null;
    if (service === '01') {
      if (params.length === 0 || params.length > MAX_PIDS_PER_REQUEST) return [...prefix, '?'];
      payload = this.mode01(params);
    } else if (service === '09' && params.length === 1) {
      payload = this.mode09(params[0]!);
    } else if (service === '03' && params.length === 0) {
      payload = [0x43, 0x00]; // SAE J1979 Mode 03 on CAN: count byte, no DTCs stored
    }
    if (payload === null) return [...prefix, 'NO DATA'];
    return [...prefix, ...this.frames(payload)];
  }

  private mode01(pids: number[]): number[] | null {
    const out = [0x41];
    const row = this.currentRow();
    for (const pid of pids) {
      if (pid % 0x20 === 0) {
        // SAE J1979 Mode 01 PID 00/20/..: bitmap of PIDs base+1 .. base+0x20
        out.push(pid, ...bitmapFromPids(pid, this.supported));
        continue;
      }
      if (!this.supported.has(pid)) continue;
      const command = findMode01Command(this.set, pidHex(pid));
      if (!command) continue;
      out.push(pid, ...encodeCommandData(command, row));
    }
    return out.length > 1 ? out : null;
  }

  private mode09(pid: number): number[] | null {
    if (pid === 0x00) return [0x49, 0x00, 0x40, 0x00, 0x00, 0x00]; // SAE J1979 Mode 09: only PID 02 (VIN)
    if (pid === 0x02) return [0x49, 0x02, 0x01, ...Buffer.from(this.vin.padEnd(17, '0').slice(0, 17), 'latin1')];
    return null;
  }

  /** Formats a payload as the adapter prints CAN frames (ISO 15765-2 framing; PCI shown only with ATH1). */
  private frames(payload: number[]): string[] {
    const s = this.settings;
    const hex = (bytes: number[]) => bytes.map((b) => pidHex(b)).join(s.spaces ? ' ' : '');
    const withId = (bytes: number[]) => (s.spaces ? `${ECU_ID} ${hex(bytes)}` : ECU_ID + hex(bytes));
    if (payload.length <= 7) return [s.headers ? withId([payload.length, ...payload]) : hex(payload)];
    const lines: string[] = [];
    const first = payload.slice(0, 6);
    const rest: number[][] = [];
    for (let i = 6; i < payload.length; i += 7) rest.push(payload.slice(i, i + 7));
    if (s.headers) {
      lines.push(withId([0x10 | (payload.length >> 8), payload.length & 0xff, ...first]));
      rest.forEach((chunk, i) => {
        const padded = [...chunk, ...new Array<number>(7 - chunk.length).fill(0xaa)];
        lines.push(withId([0x20 | ((i + 1) & 0x0f), ...padded]));
      });
    } else {
      // ELM327 DS (CAF1, ATH0): a 3-digit byte count, then numbered lines without the PCI.
      lines.push(payload.length.toString(16).toUpperCase().padStart(3, '0'));
      lines.push(`0:${s.spaces ? ' ' : ''}${hex(first)}`);
      rest.forEach((chunk, i) => lines.push(`${((i + 1) & 0x0f).toString(16).toUpperCase()}:${s.spaces ? ' ' : ''}${hex(chunk)}`));
    }
    return lines;
  }
}
