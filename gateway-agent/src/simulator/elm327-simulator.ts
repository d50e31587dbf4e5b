// An ELM327 (v1.5 unless told otherwise) on ISO 15765-4 CAN 11/500 whose ECU replays a drive (ELM327 datasheet,
// "AT commands").
import { findCommandForSignal, findMode01Command, sae1979Signalset, type Signalset } from '@clutch/firmware-profiles';
import { encodeCommandData } from '../obd/encoder.js';
import { bitmapFromPids, pidHex } from '../obd/supported-pids.js';
import type { DriveSource } from './drive.js';
import { requestKey, type ObdbReplay, type ReplayAnswer } from './obdb-replay.js';

export interface SimulatorOptions {
  readonly drive: DriveSource;
  readonly vin?: string;
  /** Wall time per drive row (default 500 ms); the drive loops at its end. */
  readonly rowIntervalMs?: number;
  /** Row the replay starts at (default 0). */
  readonly startRow?: number;
  /** Extra delay before each OBD reply, like an ECU's response time (default 0). */
  readonly ecuLatencyMs?: number;
  /**
   * Serial speed to pace at: every byte takes 10 bit times on the wire (8N1: start + 8 data + stop),
   * both the command coming in and the reply going out. Unset = no pacing (in-process tests).
   */
  readonly linkBaud?: number;
  /** Adapter/bus misbehaviour to inject (ELM327 DS "Messages and error codes"). */
  readonly quirks?: SimulatorQuirks;
  /** Recorded answers of an OBDb vehicle for requests the drive cannot answer (Modes 21/22, other PIDs). */
  readonly replay?: ObdbReplay;
  /** Trouble codes the simulated ECU holds (SAE J1979 Modes 03/07/0A), e.g. { stored: ['P0301'] }. */
  readonly dtcs?: {
    readonly stored?: readonly string[];
    readonly pending?: readonly string[];
    readonly permanent?: readonly string[];
  };
  readonly now?: () => number;
  /**
   * How the adapter and the ECUs behind it treat requests: 'default' (a genuine ELM327 and one ECU that
   * answers multi-PID requests), 'strict' (a clone on a two-ECU car that accepts single PIDs only), or
   * a personality of its own.
   */
  readonly personality?: PersonalityName | AdapterPersonality;
  /** Sees every command as the adapter received it (tests count the request forms the agent used). */
  readonly onCommand?: (command: string) => void;
  /**
   * CAN id width of the car's OBD ECUs (default 11: ISO 15765-4 protocol 6, 7DF/7E0 -> 7E8). With 29 the
   * protocol search finds 7, and the engine ECU answers 18DB33F1 / 18DA10F1 from 18DAF110.
   */
  readonly obdIds?: 11 | 29;
  /**
   * ELM327 firmware version the adapter reports (ATZ, ATI) and implements (default '1.5'). ATCER, the
   * CAN extended receive address, exists from v2.2 on; older versions answer '?' to it.
   */
  readonly firmware?: string;
}

export type PersonalityName = 'default' | 'strict';

/**
 * What an adapter and its car accept (issue 18 §1). ELM327 DS: the adapter sends whatever data bytes it
 * is given; the response-count digit (v1.3 on) is optional; on a functional request (7DF) every ECU that
 * supports the PID answers. Clones differ: some refuse long requests or the count digit with '?', and
 * many ECUs ignore a request naming several PIDs (NO DATA) or answer only its first PID.
 */
export interface AdapterPersonality {
  /** How the ECUs treat a Mode 01 request naming several PIDs. */
  readonly multiPid: 'all' | 'first-only' | 'none';
  /** A Mode 01 request naming more PIDs than this gets '?' from the adapter itself. */
  readonly maxPidsAccepted: number;
  /** Where the adapter accepts the response-count digit: after any request, after a single PID only, never. */
  readonly countDigit: 'any' | 'single' | 'never';
  /** A second ECU (e.g. the transmission's 7EA) that also answers these Mode 01 PIDs when the car supports them. */
  readonly secondEcu?: { readonly id: string; readonly pids: readonly number[] };
  /** AT commands the adapter lacks and answers '?' to, named without 'AT' (e.g. 'CEA', 'TA', 'TP': older clones). */
  readonly lacksAt?: readonly string[];
}

export const PERSONALITIES: Readonly<Record<PersonalityName, AdapterPersonality>> = {
  default: { multiPid: 'all', maxPidsAccepted: 6, countDigit: 'any' },
  strict: {
    multiPid: 'none',
    maxPidsAccepted: 2,
    countDigit: 'single',
    // A transmission ECU answers the temperatures, speeds and load it also uses.
    secondEcu: { id: '7EA', pids: [0x04, 0x05, 0x0c, 0x0d, 0x0f, 0x11, 0x1f, 0x49] },
  },
};

export interface SimulatorQuirks {
  /** Probability that an OBD request answers NO DATA. */
  readonly noDataRate?: number;
  /** Probability that an OBD request answers BUFFER FULL. */
  readonly bufferFullRate?: number;
  /** Probability that a reply carries a garbled byte (a bit error on the serial line). */
  readonly garbleRate?: number;
  /** The adapter browns out and resets on the Nth OBD request (ELM327 prints its banner, defaults return). */
  readonly resetOnRequest?: number;
  /** Seed of the quirk generator (deterministic runs). */
  readonly seed?: number;
  /** Mode 01 PIDs the ECU lists as supported but never answers (NO DATA), two hex digits each. */
  readonly silentPids?: readonly string[];
}

export const SIMULATOR_BANNER = 'ELM327 v1.5';

/** 'P0301' -> [0x03, 0x01] (SAE J2012: system in bits 15-14, first digit in 13-12). */
export function encodeDtc(code: string): number[] {
  const system = 'PCBU'.indexOf(code[0]!.toUpperCase());
  const value = (system << 14) | (Number(code[1]) << 12) | parseInt(code.slice(2), 16);
  return [value >> 8, value & 0xff];
}

/** setTimeout has ~1 ms granularity; sub-millisecond pacing spins on the clock instead. */
async function sleepPrecise(ms: number): Promise<void> {
  const end = performance.now() + ms;
  if (ms >= 2) await new Promise((r) => setTimeout(r, ms - 1));
  while (performance.now() < end) await new Promise((r) => setImmediate(r));
}
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
  /** ATAT0/1/2 adaptive timing mode. */
  adaptive: number;
  /** ATST timeout in ms (hex value x 4 ms). */
  timeoutMs: number;
  /** ATSH request header as set: 3 digits (11-bit) or 6 (the low 24 bits of a 29-bit id); '' = the protocol's functional default. */
  header: string;
  /** ATCP: the priority bits of a 29-bit id (default 18). */
  priority: string;
  /** ATCRA receive filter: only frames from this CAN id are shown (undefined = default filtering). */
  receive?: string;
  /** ATCEA hh: extended address put before the PCI of every frame sent; replies must carry the tester address. */
  extended?: string;
  /** ATTA: tester address (default F1). */
  tester: string;
  /** ATCER hh: the extended-address byte replies must carry instead of the tester address (undefined = ATTA's). */
  extendedRx?: string;
  /** ATFCSH / ATFCSD / ATFCSM: flow control header, data and mode (0 = automatic, 1 = as set). */
  fcHeader?: string;
  fcData?: string;
  fcMode: number;
}

const defaults = (): Settings => ({
  echo: true,
  linefeeds: false,
  spaces: true,
  headers: false,
  auto: true,
  protocol: '0',
  adaptive: 1,
  timeoutMs: 200,
  header: '',
  priority: '18',
  receive: undefined,
  extended: undefined,
  tester: 'F1',
  extendedRx: undefined,
  fcHeader: undefined,
  fcData: undefined,
  fcMode: 0,
});

/** ISO 15765-4 protocols on this simulated 500 kbaud bus: 11-bit and 29-bit ids share the wires. */
const BUS_PROTOCOLS = new Set(['6', '7']);

/**
 * How long the adapter keeps listening after the last frame when the request did not say how many
 * replies to expect (ELM327 DS "ATST", "ATAT"): the full ATST timeout without adaptive timing, else a
 * timeout learnt from the ECU's response times (this model: 2x latency + 5 ms at ATAT1, 1x at ATAT2).
 */
export function listenTailMs(settings: { adaptive: number; timeoutMs: number }, ecuLatencyMs: number): number {
  if (settings.adaptive === 0) return settings.timeoutMs;
  const learnt = (settings.adaptive === 1 ? 2 : 1) * ecuLatencyMs + 5;
  return Math.min(settings.timeoutMs, learnt);
}

/** ELM327 DS "ATCRA": the filter's X digits match any digit. */
function receiveMatches(filter: string, canId: string): boolean {
  if (filter.length !== canId.length) return false;
  return [...filter].every((c, i) => c === 'X' || c === canId[i]);
}

export class Elm327Simulator {
  private settings = defaults();
  private input = '';
  private lastCommand = '';
  private readonly set: Signalset = sae1979Signalset();
  private readonly supported: Set<number>;
  private readonly secondSupported: Set<number>;
  private readonly personality: AdapterPersonality;
  private readonly silent: Set<number>;
  private readonly started: number;
  private readonly now: () => number;
  private queue: Promise<void> = Promise.resolve();
  private requests = 0;
  /**
   * Time the pacing slept beyond what the wire and the ECU take (timers firing late on a loaded machine):
   * benchmarks report it, since the host sees it as a slower adapter.
   */
  paceOvershootMs = 0;
  private seed: number;
  private readonly dtcs: { stored: string[]; pending: string[]; permanent: string[] };
  /** Drive row captured when the first stored DTC was set (Mode 02 freeze frame 0). */
  private readonly freezeRow: Readonly<Record<string, number>>;

  constructor(
    private readonly options: SimulatorOptions,
    private readonly write: (text: string) => void,
  ) {
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.seed = options.quirks?.seed ?? 1;
    this.dtcs = {
      stored: [...(options.dtcs?.stored ?? [])],
      pending: [...(options.dtcs?.pending ?? [])],
      permanent: [...(options.dtcs?.permanent ?? [])],
    };
    this.freezeRow = options.drive.row(options.startRow ?? 0);
    this.supported = new Set<number>();
    for (const id of options.drive.signals) {
      const pid = findCommandForSignal(this.set, id)?.cmd['01'];
      if (pid !== undefined) this.supported.add(parseInt(pid, 16));
    }
    // SAE J1979: PID 20/40/.. is "supported" when a later range has any supported PID.
    for (const pid of [...this.supported]) for (let base = 0x20; base < pid; base += 0x20) this.supported.add(base);
    const p = options.personality ?? 'default';
    this.personality = typeof p === 'string' ? PERSONALITIES[p] : p;
    this.secondSupported = new Set((this.personality.secondEcu?.pids ?? []).filter((pid) => this.supported.has(pid)));
    for (const pid of [...this.secondSupported])
      for (let base = 0x20; base < pid; base += 0x20) this.secondSupported.add(base);
    this.silent = new Set((options.quirks?.silentPids ?? []).map((h) => parseInt(h, 16)));
  }

  /** What ATZ and ATI print: 'ELM327 v1.5' unless another firmware version is simulated. */
  get banner(): string {
    return this.options.firmware ? `ELM327 v${this.options.firmware}` : SIMULATOR_BANNER;
  }

  /** Whether the simulated firmware is at least `major.minor` (ELM327 DS marks commands by version). */
  private firmwareAtLeast(major: number, minor: number): boolean {
    const [a = 0, b = 0] = (this.options.firmware ?? '1.5').split('.').map((n) => parseInt(n, 10));
    return a > major || (a === major && b >= minor);
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
    this.options.onCommand?.(command);
    if (command.startsWith('AT')) {
      const lines = this.at(command.slice(2));
      // AT commands never reach the bus, but their bytes still cross the serial line.
      await this.pace(raw.length + 1, lines === 'reset' ? this.banner.length + 6 : lines.join('\r').length + 4);
      if (lines === 'reset') {
        // ELM327 DS: ATZ answers with a blank line, the banner and a blank line before the prompt.
        this.write(echo + '\r\r' + this.banner + '\r\r>');
        return;
      }
      this.write(echo + lines.map((l) => l + this.eol).join('') + this.eol + '>');
      return;
    }
    this.requests++;
    const q = this.options.quirks;
    if (q?.resetOnRequest !== undefined && this.requests === q.resetOnRequest) {
      // ELM327 DS: after a power dip the IC restarts, prints its banner and forgets every setting.
      this.settings = defaults();
      await this.pace(raw.length + 1, 20);
      this.write('\r\r' + this.banner + '\r\r>');
      return;
    }
    let lines: string[];
    if (q?.noDataRate && this.random() < q.noDataRate) lines = ['NO DATA'];
    else if (q?.bufferFullRate && this.random() < q.bufferFullRate) lines = ['BUFFER FULL'];
    else lines = this.obd(command);
    let text = echo + lines.map((l) => l + this.eol).join('') + this.eol + '>';
    if (q?.garbleRate && this.random() < q.garbleRate && text.length > 2) {
      // A flipped bit in one byte before the prompt (never the prompt itself, which would desync the host).
      const i = Math.floor(this.random() * (text.length - 1));
      text = text.slice(0, i) + String.fromCharCode((text.charCodeAt(i) ^ 0x10) & 0x7f || 0x21) + text.slice(i + 1);
      text = text.replace(/>(?=.)/g, '!');
    }
    // Without the expected-response-count digit the adapter waits for further ECUs before its prompt.
    const hasCount = /^[0-9A-F]+$/.test(command) && command.length % 2 === 1;
    const tail = !hasCount && this.options.linkBaud ? listenTailMs(this.settings, this.options.ecuLatencyMs ?? 0) : 0;
    await this.pace(raw.length + 1, text.length, (this.options.ecuLatencyMs ?? 0) + tail);
    this.write(text);
  }

  /** Waits what the wire takes: 10 bit times per byte (8N1) each way, plus the ECU's response time. */
  private async pace(bytesIn: number, bytesOut: number, ecuMs = 0): Promise<void> {
    const baud = this.options.linkBaud;
    const ms = ecuMs + (baud ? ((bytesIn + bytesOut) * 10 * 1000) / baud : 0);
    if (ms <= 0) return;
    const start = performance.now();
    await sleepPrecise(ms);
    this.paceOvershootMs += performance.now() - start - ms;
  }

  private random(): number {
    this.seed = (this.seed * 1103515245 + 12345) & 0x7fffffff;
    return this.seed / 0x80000000;
  }

  private at(cmd: string): string[] | 'reset' {
    const s = this.settings;
    if (this.personality.lacksAt?.some((name) => cmd.startsWith(name))) return ['?'];
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
    if (cmd === 'I') return [this.banner];
    if (cmd === '@1') return ['OBDII to RS232 Interpreter'];
    if (cmd === 'CS') return ['T:00 R:00'];
    if (cmd === 'RV') return [`${this.batteryVoltage().toFixed(1)}V`];
    if (cmd === 'DPN') return [s.auto ? `A${s.protocol}` : s.protocol];
    if (cmd === 'DP') {
      const name = { '6': 'ISO 15765-4 (CAN 11/500)', '7': 'ISO 15765-4 (CAN 29/500)' }[s.protocol];
      return [name ? `${s.auto ? 'AUTO, ' : ''}${name}` : 'AUTO'];
    }
    const sp = /^(SP|TP)(A?)([0-9A-C])$/.exec(cmd);
    if (sp) {
      // Only CAN 11/500 exists on this simulated bus; an explicit other protocol would fail at the first request.
      s.auto = sp[3] === '0' || sp[2] === 'A';
      s.protocol = sp[3] === '0' ? '0' : sp[3]!;
      return ['OK'];
    }
    const at = /^AT([012])$/.exec(cmd);
    if (at) {
      s.adaptive = Number(at[1]);
      return ['OK'];
    }
    const st = /^ST([0-9A-F]{2})$/.exec(cmd);
    if (st) {
      s.timeoutMs = (parseInt(st[1]!, 16) || 0x32) * 4;
      return ['OK'];
    }
    const sh = /^SH([0-9A-F]{3}|[0-9A-F]{6})$/.exec(cmd);
    if (sh) {
      // ELM327 DS "ATSH": 3 hex digits (11-bit) or 6 (the low 24 bits of a 29-bit id, e.g. DA10F1).
      s.header = sh[1]!;
      return ['OK'];
    }
    const cp = /^CP([0-9A-F]{2})$/.exec(cmd);
    if (cp) {
      // ELM327 DS "ATCP": the 5 most significant bits of a 29-bit id.
      if (parseInt(cp[1]!, 16) > 0x1f) return ['?'];
      s.priority = cp[1]!;
      return ['OK'];
    }
    const ta = /^TA([0-9A-F]{2})$/.exec(cmd);
    if (ta) {
      s.tester = ta[1]!;
      return ['OK'];
    }
    const cea = /^CEA([0-9A-F]{2})?$/.exec(cmd);
    if (cea) {
      // ELM327 DS "CEA": turns off what CEA hh set. CER is a setting of its own, kept here until ATD/ATZ.
      s.extended = cea[1];
      return ['OK'];
    }
    const cer = /^CER([0-9A-F]{2})$/.exec(cmd);
    if (cer) {
      // ELM327 DS "CER hh" (v2.2): replies must carry hh, not the tester address, in their first byte.
      if (!this.firmwareAtLeast(2, 2)) return ['?'];
      s.extendedRx = cer[1]!;
      return ['OK'];
    }
    const fcsh = /^FCSH([0-9A-F]{3}|[0-9A-F]{8})$/.exec(cmd);
    if (fcsh) {
      s.fcHeader = fcsh[1]!;
      return ['OK'];
    }
    const fcsd = /^FCSD((?:[0-9A-F]{2}){1,5})$/.exec(cmd);
    if (fcsd) {
      s.fcData = fcsd[1]!;
      return ['OK'];
    }
    const fcsm = /^FCSM([01])$/.exec(cmd);
    if (fcsm) {
      // ELM327 DS "Altering Flow Control Messages": mode 1 before its header and data are set is refused.
      if (fcsm[1] === '1' && (s.fcHeader === undefined || s.fcData === undefined)) return ['?'];
      s.fcMode = Number(fcsm[1]);
      return ['OK'];
    }
    const cra = /^CRA([0-9A-FX]{3}|[0-9A-FX]{8})?$/.exec(cmd);
    if (cra) {
      // ELM327 DS "ATCRA": show only frames from this id; without an id, default filtering again.
      s.receive = cra[1];
      return ['OK'];
    }
    if (/^(CAF[01]|CFC[01]|M[01]|AR|PC)$/.test(cmd)) return ['OK'];
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
    const count = cmd.length % 2 === 1 ? parseInt(cmd.slice(-1), 16) : undefined;
    const body = count !== undefined ? cmd.slice(0, -1) : cmd;
    const service = body.slice(0, 2);
    const params = (body.slice(2).match(/../g) ?? []).map((h) => parseInt(h, 16));
    const persona = this.personality;
    if (service === '01' && params.length > persona.maxPidsAccepted) return ['?'];
    if (count !== undefined && persona.countDigit !== 'any') {
      if (persona.countDigit === 'never' || (service === '01' && params.length > 1)) return ['?'];
    }
    const prefix: string[] = [];
    if (this.settings.protocol === '0') {
      // ELM327 DS: under ATSP0 the first request triggers the protocol search.
      prefix.push('SEARCHING...');
      this.settings.protocol = this.bus.protocol;
    } else if (!BUS_PROTOCOLS.has(this.settings.protocol)) {
      return ['UNABLE TO CONNECT'];
    }
    const requestId = this.requestId();
    const functional = requestId === this.bus.functional;
    if (!functional && requestId !== this.bus.physical) return [...prefix, ...this.physical(body, requestId)];
    let payload: number[] | null = null;
    if (service === '01') {
      if (params.length === 0 || params.length > MAX_PIDS_PER_REQUEST) return [...prefix, '?'];
      if (params.length > 1 && persona.multiPid === 'none') return [...prefix, 'NO DATA'];
      const asked = params.length > 1 && persona.multiPid === 'first-only' ? params.slice(0, 1) : params;
      const replies: [string, number[]][] = [];
      const first = this.mode01(asked, this.supported);
      if (first) replies.push([this.bus.reply, first]);
      if (persona.secondEcu) {
        const second = this.mode01(asked, this.secondSupported);
        if (second) replies.push([this.obdId(persona.secondEcu.id), second]);
      }
      // ELM327 DS: with a count digit the adapter stops listening after that many frames.
      const shown = count !== undefined ? replies.slice(0, Math.max(1, count)) : replies;
      const lines = shown.flatMap(([id, bytes]) => this.frames(bytes, id));
      return lines.length > 0 ? [...prefix, ...lines] : [...prefix, 'NO DATA'];
    } else if (service === '09' && params.length === 1) {
      payload = this.mode09(params[0]!);
    } else if ((service === '03' || service === '07' || service === '0A') && params.length === 0) {
      const codes = service === '03' ? this.dtcs.stored : service === '07' ? this.dtcs.pending : this.dtcs.permanent;
      // SAE J1979 Modes 03/07/0A on CAN: <sid+40> <count> then two bytes per code (SAE J2012 encoding).
      payload = [parseInt(service, 16) + 0x40, codes.length, ...codes.flatMap(encodeDtc)];
    } else if (service === '04' && params.length === 0) {
      // SAE J1979 Mode 04: clears stored and pending codes and the freeze frame; permanent codes stay
      // until the ECU itself sees the fault gone.
      this.dtcs.stored = [];
      this.dtcs.pending = [];
      payload = [0x44];
    } else if (service === '02' && params.length === 2) {
      payload = this.mode02(params[0]!, params[1]!);
    }
    if (payload === null && this.options.replay) {
      // The engine ECU answers what the drive lacks from its captures; a functional request any ECU.
      const recorded =
        this.options.replay.answer(body, functional ? undefined : this.bus.physical) ??
        (functional ? undefined : this.options.replay.answer(body));
      if (recorded) return [...prefix, ...this.recordedFrames(recorded, requestId)];
    }
    if (payload === null) return [...prefix, 'NO DATA'];
    const lines = this.frames(payload, this.bus.reply);
    return lines.length > 0 ? [...prefix, ...lines] : [...prefix, 'NO DATA'];
  }

  /** The OBD engine ECU's ids on this car's bus (ISO 15765-4: 11-bit 7DF/7E0/7E8, 29-bit 18DB33F1/18DA10F1/18DAF110). */
  private get bus(): { protocol: string; functional: string; physical: string; reply: string } {
    return this.options.obdIds === 29
      ? { protocol: '7', functional: '18DB33F1', physical: '18DA10F1', reply: '18DAF110' }
      : { protocol: '6', functional: '7DF', physical: '7E0', reply: ECU_ID };
  }

  /** An 11-bit OBD reply id (7E8 + n) as the same ECU's id on a 29-bit OBD bus (18DAF1 + address). */
  private obdId(id: string): string {
    if (this.options.obdIds !== 29 || id.length !== 3) return id;
    return `18DAF1${pidHex(0x10 + parseInt(id, 16) - 0x7e8)}`;
  }

  /**
   * The CAN id requests go out with (ELM327 DS "Setting the Headers"): on 11-bit protocols the rightmost
   * 11 bits of the header; on 29-bit ones the ATCP priority over the 24 bits of a 6-digit header (a
   * 3-digit header is stored as 00 0x yz).
   */
  private requestId(): string {
    const s = this.settings;
    // ELM327 DS: without ATSH the adapter uses the protocol's functional OBD header.
    if (s.header === '') return s.protocol === '7' ? '18DB33F1' : '7DF';
    if (s.protocol !== '7') {
      const id = s.header.length === 3 ? parseInt(s.header, 16) : parseInt(s.header, 16) & 0x7ff;
      return id.toString(16).toUpperCase().padStart(3, '0');
    }
    const low = s.header.length === 6 ? s.header : `000${s.header}`;
    return `${s.priority}${low}`;
  }

  /** A request to one ECU by its physical id (and extended address): its recorded answer, else silence. */
  private physical(body: string, requestId: string): string[] {
    const recorded = this.options.replay?.answer(body, requestKey(requestId, this.settings.extended));
    const lines = recorded ? this.recordedFrames(recorded, requestId) : [];
    return lines.length > 0 ? lines : ['NO DATA'];
  }

  /**
   * A recorded answer as the adapter prints it. The ECU sends the frames after the first only when the
   * flow control reaches it (ISO 15765-2): automatic flow control (ATFCSM0) goes to the reply id - 8 on
   * 11-bit, and to the reply id with source and target swapped on 29-bit; ATFCSM1 to ATFCSH's id.
   */
  private recordedFrames(answer: ReplayAnswer, requestId: string): string[] {
    const s = this.settings;
    const extended = answer.extendedAddress;
    // Without ATCEA the ECU's address byte would be read as the PCI; with it, only replies carrying the
    // tester address (ATTA) pass, or the byte ATCER set (ELM327 DS "CEA", "CER").
    if ((extended !== undefined) !== (s.extended !== undefined)) return [];
    if (extended !== undefined && pidHex(extended) !== (s.extendedRx ?? s.tester)) return [];
    const canId = answer.canId;
    let flowControlTo: string;
    if (s.fcMode === 1) flowControlTo = s.fcHeader ?? '';
    else if (canId.length === 3) flowControlTo = (parseInt(canId, 16) - 8).toString(16).toUpperCase().padStart(3, '0');
    else flowControlTo = `${canId.slice(0, 4)}${canId.slice(6, 8)}${canId.slice(4, 6)}`;
    const lines = this.frames(answer.payload, canId, extended);
    return flowControlTo === requestId ? lines : lines.slice(0, 1);
  }

  private mode01(pids: number[], supported: ReadonlySet<number>): number[] | null {
    const out = [0x41];
    const row = this.currentRow();
    for (const pid of pids) {
      if (pid % 0x20 === 0) {
        // SAE J1979 Mode 01 PID 00/20/..: bitmap of PIDs base+1 .. base+0x20
        if (pid !== 0 && !supported.has(pid)) continue;
        out.push(pid, ...bitmapFromPids(pid, supported));
        continue;
      }
      if (!supported.has(pid) || this.silent.has(pid)) continue;
      const command = findMode01Command(this.set, pidHex(pid));
      if (!command) continue;
      out.push(pid, ...encodeCommandData(command, row));
    }
    return out.length > 1 ? out : null;
  }

  /** SAE J1979 Mode 02 (freeze frame): `42 <pid> <frame> <data>` from the row the first stored DTC froze. */
  private mode02(pid: number, frame: number): number[] | null {
    const first = this.dtcs.stored[0];
    if (frame !== 0 || first === undefined) return null;
    if (pid === 0x02) return [0x42, 0x02, 0x00, ...encodeDtc(first)];
    if (!this.supported.has(pid)) return null;
    const command = findMode01Command(this.set, pidHex(pid));
    return command ? [0x42, pid, 0x00, ...encodeCommandData(command, this.freezeRow)] : null;
  }

  private mode09(pid: number): number[] | null {
    // SAE J1979 Mode 09 PID 00: supported PIDs 02 (VIN) and 0A (ECU name).
    if (pid === 0x00) return [0x49, 0x00, 0x40, 0x40, 0x00, 0x00];
    if (pid === 0x0a) return [0x49, 0x0a, 0x01, ...Buffer.from('ECM\0-EngineControl'.padEnd(20, '\0'), 'latin1')];
    if (pid === 0x02) return [0x49, 0x02, 0x01, ...Buffer.from(this.vin.padEnd(17, '0').slice(0, 17), 'latin1')];
    return null;
  }

  /** Formats a payload as the adapter prints CAN frames (ISO 15765-2 framing; PCI shown only with ATH1). */
  private frames(payload: number[], canId: string = ECU_ID, extended?: number): string[] {
    const s = this.settings;
    if (s.receive !== undefined && !receiveMatches(s.receive, canId)) return [];
    const hex = (bytes: number[]) => bytes.map((b) => pidHex(b)).join(s.spaces ? ' ' : '');
    const id = canId.length === 8 && s.spaces ? canId.match(/../g)!.join(' ') : canId;
    // ISO 15765-2 extended addressing: the address byte takes one of the eight, before the PCI.
    const address = extended === undefined ? [] : [extended];
    const withId = (bytes: number[]) =>
      s.spaces ? `${id} ${hex([...address, ...bytes])}` : id + hex([...address, ...bytes]);
    const room = 7 - address.length;
    if (payload.length <= room) return [s.headers ? withId([payload.length, ...payload]) : hex(payload)];
    const lines: string[] = [];
    const first = payload.slice(0, room - 1);
    const rest: number[][] = [];
    for (let i = room - 1; i < payload.length; i += room) rest.push(payload.slice(i, i + room));
    if (s.headers) {
      lines.push(withId([0x10 | (payload.length >> 8), payload.length & 0xff, ...first]));
      rest.forEach((chunk, i) => {
        const padded = [...chunk, ...new Array<number>(room - chunk.length).fill(0xaa)];
        lines.push(withId([0x20 | ((i + 1) & 0x0f), ...padded]));
      });
    } else {
      // ELM327 DS (CAF1, ATH0): a 3-digit byte count, then numbered lines without the PCI.
      lines.push(payload.length.toString(16).toUpperCase().padStart(3, '0'));
      lines.push(`0:${s.spaces ? ' ' : ''}${hex(first)}`);
      rest.forEach((chunk, i) =>
        lines.push(`${((i + 1) & 0x0f).toString(16).toUpperCase()}:${s.spaces ? ' ' : ''}${hex(chunk)}`),
      );
    }
    return lines;
  }
}
