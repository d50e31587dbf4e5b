// The polling loop: asks the adapter for what is due, decodes, hands values on, heals the link. It learns
// which request forms the adapter and ECUs accept (obd/request-capability.ts), backs off PIDs that keep
// failing (poll-plan.ts markFailed) and polls the car's Mode 21/22 commands under their own headers.
import { signalByObdbId, type SignalDefinition } from '@clutch/contracts';
import { sae1979Signalset, selectProfile, type Signalset } from '@clutch/firmware-profiles';
import type { Logger } from 'pino';
import type { ElmResponse } from '../elm327/response.js';
import { decodeVoltageReply } from '../elm327/voltage.js';
import type { Elm327Driver } from '../elm327/driver.js';
import { agentError, agentErrorCode, isNoReply } from '../errors.js';
import {
  addressingCommands,
  busDefault,
  protocolNumber,
  supportsExtendedReceive,
  type Addressing,
  is29Bit,
} from '../obd/addressing.js';
import { decodeCommand, selectMessage } from '../obd/decoder.js';
import { headerModeForProtocol, parseFrames } from '../obd/frames.js';
import { decodeMode01Reply } from '../obd/mode01.js';
import { acceptReading, type DecodedReply, type Reading } from '../obd/readings.js';
import { RequestCapability } from '../obd/request-capability.js';
import type { AdapterLink } from './adapter-link.js';
import type { AdapterInfo } from './session.js';
import {
  buildPollPlan,
  markFailed,
  markRead,
  nextRequest,
  type BackoffPolicy,
  type PollItem,
  type PollPlanOptions,
  type PollRequest,
  type VehicleProfilePlan,
} from './poll-plan.js';

export interface PollerOptions {
  readonly link: AdapterLink;
  readonly logger: Logger;
  readonly emit: (key: string, value: number, atMs: number) => void;
  readonly pollScale?: number;
  readonly signalset?: Signalset;
  /** PIDs per Mode 01 request on CAN (1..6, default 6). */
  readonly maxPidsPerRequest?: number;
  /** Timeout of one OBD request (ELM327 default ATST is ~200 ms; searching takes longer). */
  readonly requestTimeoutMs?: number;
  /** How long a demoted request form (multi-PID, count digit) stays demoted before it is tried again (default 5 min). */
  readonly reprobeMs?: number;
  /** Backoff of a failing PID (default 1 s doubling up to 60 s). */
  readonly backoff?: BackoffPolicy;
  /** Poll the Mode 21/22 commands of the car's OBDb profile (default true). */
  readonly vehicleSignals?: boolean;
  /** The catalogue entry a profile signal publishes as (default: contracts' signalByObdbId). */
  readonly signalFor?: (obdbId: string) => SignalDefinition | undefined;
}

export interface Poller {
  stop(): Promise<void>;
  readsPerSecond(): number;
  readonly reads: number;
  /** Values refused as out of range (the contracts catalogue's range, battery voltage included). */
  readonly rejected: number;
  /** Requests sent to the adapter. */
  readonly requests: number;
  /** Second readings of a signal within one millisecond, dropped (see deliver). */
  readonly coalesced: number;
  plan(): readonly PollItem[];
  /** Replaces the per-PID period overrides (downlink `set_poll_plan`). */
  setPeriods(periodsMs: Readonly<Record<string, number>>): void;
  /** Successful reads per plan item ('0C', 'ATRV', '221002@7E0') since the start. */
  readsByItem(): ReadonlyMap<string, number>;
  /** Request forms and ECUs stepped down so far, and step downs that expired (re-probes). */
  readonly demotions: number;
  readonly reprobes: number;
  /** Adapter setup switches between ECUs (each costs one AT round trip per setting that differs). */
  readonly headerSwitches: number;
  /**
   * Runs `fn` on the adapter between two poll requests, with the bus default setup restored (functional
   * 7DF / 18DB33F1, no receive filter): DTC reads and downlink commands must not go to whichever ECU
   * the last vehicle command addressed. Rejects with ADAPTER_UNAVAILABLE while the adapter is lost.
   */
  exclusive<T>(fn: (driver: Elm327Driver) => Promise<T>): Promise<T>;
}

interface Job {
  run(driver: Elm327Driver): Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** The AT commands a header switch uses, by name (an argument follows each). */
const AT_FAMILIES = ['ATFCSH', 'ATFCSD', 'ATFCSM', 'ATCRA', 'ATCEA', 'ATCER', 'ATTP', 'ATCP', 'ATSH', 'ATTA', 'ATST'];
const atFamily = (command: string): string => AT_FAMILIES.find((f) => command.startsWith(f)) ?? command;

/** A stuck adapter answers nothing; after this many timeouts in a row it is initialised again. */
const MAX_CONSECUTIVE_TIMEOUTS = 3;

/** The car's OBDb profile when it is a vehicle one (SAE J1979 has no Mode 21/22 commands). */
function vehicleProfile(
  info: AdapterInfo | undefined,
  signalFor: PollerOptions['signalFor'],
): VehicleProfilePlan | undefined {
  if (!info || info.profile.name === 'SAEJ1979' || !info.isCan) return undefined;
  const choice = selectProfile(info.vin, info.supportedPids);
  if (choice.name !== info.profile.name) return undefined;
  return {
    signalset: choice.signalset,
    ...(choice.modelYear ? { modelYear: choice.modelYear } : {}),
    protocol: protocolNumber(info.protocol),
    ...(signalFor ? { signalFor } : {}),
  };
}

/** The readings of a vehicle command's reply: the message from its receive address, else the first answering. */
function decodeVehicleReply(
  item: PollItem,
  lines: readonly string[],
  signalFor: (id: string) => SignalDefinition | undefined,
): DecodedReply {
  const { command, addressing, receiveId } = item.vehicle!;
  // The id width is known (ATH1 prints it; without spaces a 29-bit id cannot be told from data), and
  // with extended addressing the byte before the PCI is the address, not data.
  const messages = parseFrames(lines, is29Bit(addressing.protocol) ? '29bit' : '11bit', {
    extendedAddressing: addressing.extended !== '',
  });
  const message =
    (receiveId ? messages.find((m) => m.canId === receiveId && decodeCommand(command, m) !== null) : undefined) ??
    selectMessage(command, messages);
  const values = message ? decodeCommand(command, message, { applyNull: true, rawEnums: true }) : null;
  if (!values) return { readings: [], pidReads: 0, rejected: 0 };
  const readings: Reading[] = [];
  let rejected = 0;
  for (const [id, value] of Object.entries(values)) {
    const signal = signalFor(id);
    if (!signal || typeof value !== 'number') continue;
    if (!acceptReading(readings, signal, value)) rejected++;
  }
  return { readings, pidReads: 1, rejected };
}

export function startPoller(options: PollerOptions): Poller {
  const { link, logger: log } = options;
  const set = options.signalset ?? sae1979Signalset();
  const signalFor = options.signalFor ?? signalByObdbId;
  let planOptions: PollPlanOptions = { scale: options.pollScale };
  let plan: PollItem[] = [];
  let planFor: unknown;
  let reads = 0;
  let requests = 0;
  let rejected = 0;
  let coalesced = 0;
  let headerSwitches = 0;
  let demotions = 0;
  let reprobes = 0;
  const readsByItem = new Map<string, number>();
  let capability = new RequestCapability(options.reprobeMs);
  /** The header group the adapter is set to ('' = the bus default; undefined = unknown). */
  let group: string | undefined = '';
  /** The adapter's setup as last commanded (undefined = unknown: the next switch sends every setting). */
  let adapterAt: Addressing | undefined;
  /** AT command families this adapter answered '?' to (clones often lack ATCEA, ATTA, ATTP, ATFCS..). */
  let lacking = new Set<string>();
  let running = true;
  let wake: (() => void) | undefined;
  const jobs: Job[] = [];
  const failJobs = (why: string) => {
    for (const job of jobs.splice(0)) job.reject(agentError('ADAPTER_UNAVAILABLE', why));
  };
  const started = Date.now();
  const rebuild = () => {
    const info = link.info;
    const vehicle = options.vehicleSignals === false ? undefined : vehicleProfile(info, options.signalFor);
    plan = buildPollPlan(set, info?.supportedPids ?? new Set(), Date.now(), {
      ...planOptions,
      ...(vehicle ? { vehicle } : {}),
    });
    if (planFor !== info) {
      // A new or re-initialised adapter: its defaults are back (ATZ) and its capabilities may differ.
      demotions += capability.demoted;
      reprobes += capability.reprobes;
      capability = new RequestCapability(options.reprobeMs, {
        onDemote: (what) => log.info({ what }, 'request form demoted'),
      });
      group = '';
      adapterAt = busDefault(protocolNumber(info?.protocol));
      lacking = new Set();
    }
    planFor = info;
  };
  // Storage keys a reading by (vehicle, signal, millisecond): a second reading of a signal within the
  // same millisecond would be dropped there as a duplicate, so it is coalesced here, visibly.
  const lastAt = new Map<string, number>();
  const deliver = (key: string, value: number, at: number) => {
    if (lastAt.get(key) === at) {
      coalesced++;
      return;
    }
    lastAt.set(key, at);
    options.emit(key, value, at);
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = async () => {
    let timeouts = 0;
    while (running) {
      const driver = link.driver;
      try {
        if (!driver || driver.isClosed) {
          failJobs('adapter link lost');
          if (!(await link.reopen('adapter stream closed'))) break;
          continue;
        }
        if (driver.resetDetected || timeouts >= MAX_CONSECUTIVE_TIMEOUTS) {
          timeouts = 0;
          await link.reinitialise();
        }
      } catch (err) {
        if (!running) break;
        log.warn({ err: (err as Error).message }, 'adapter re-initialisation failed');
        failJobs('adapter link lost');
        if (!(await link.reopen((err as Error).message))) break;
        continue;
      }
      if (planFor !== link.info) rebuild();
      const job = jobs.shift();
      if (job) {
        try {
          const timeoutMs = options.requestTimeoutMs ?? 2000;
          if (group !== '' && !(await setHeaderGroup(driver, '', undefined, timeoutMs)))
            throw agentError('ADAPTER_UNKNOWN_COMMAND', 'the adapter refused the bus default setup');
          job.resolve(await job.run(driver));
        } catch (err) {
          job.reject(err);
        }
        continue;
      }
      const now = Date.now();
      const request = nextRequest(plan, set, now, {
        isCan: link.info?.isCan ?? false,
        maxPids: options.maxPidsPerRequest,
        multiAllowed: (pid) => capability.multiAllowed(pid, now),
        countDigit: (n) => capability.countDigit(n, now),
        group: group ?? '\0',
      });
      if (!request) {
        const next = plan.length > 0 ? Math.min(...plan.map((p) => p.nextDueMs)) : now + 1000;
        await sleep(Math.max(1, Math.min(1000, next - now)));
        continue;
      }
      const timeoutMs = options.requestTimeoutMs ?? 2000;
      try {
        const target = request.kind === 'vehicle' ? request.group : '';
        if (group !== target && !(await setHeaderGroup(driver, target, request.items[0]!, timeoutMs))) {
          // The adapter refused the header (an old clone without ATCRA, say): those commands back off.
          for (const item of request.items) markFailed(item, Date.now(), options.backoff);
          continue;
        }
        requests++;
        const reply = await driver.send(request.command, timeoutMs);
        timeouts = 0;
        settle(request, reply, Date.now());
      } catch (err) {
        if (!running) break;
        if (isNoReply(err)) {
          timeouts++;
          settle(request, undefined, Date.now());
        } else if (agentErrorCode(err) !== 'ADAPTER_CLOSED') {
          log.warn({ err, command: request.command }, 'adapter command failed');
          for (const item of request.items) markRead(item, Date.now());
        }
      }
    }
  };

  /**
   * Points requests at a header group: the setup of a vehicle command's ECU (protocol of its id width,
   * ATCP/ATSH, ATCRA, ATCEA/ATTA, flow control, ATST), or back to the bus default for Mode 01. Only the
   * settings that differ are sent (obd/addressing.ts).
   */
  const setHeaderGroup = async (
    driver: NonNullable<AdapterLink['driver']>,
    target: string,
    item: PollItem | undefined,
    timeoutMs: number,
  ): Promise<boolean> => {
    const wanted =
      target === '' || !item?.vehicle ? busDefault(protocolNumber(link.info?.protocol)) : item.vehicle.addressing;
    // ATCER (ELM327 v2.2) sets the reply byte of extended addressing; a '?' to it falls back to ATTA.
    const support = { extendedReceive: supportsExtendedReceive(link.info?.banner) && !lacking.has('ATCER') };
    const { commands, state } = addressingCommands(adapterAt, wanted, support);
    const restoring = new Set(addressingCommands(undefined, busDefault(protocolNumber(link.info?.protocol))).commands);
    group = undefined;
    adapterAt = undefined;
    headerSwitches++;
    for (const command of commands) {
      const kind = atFamily(command);
      // A setting the adapter lacks was never changed, so its default needs no restoring; a vehicle
      // command that needs it cannot be reached (it backs off like any failing item).
      if (lacking.has(kind)) {
        if (restoring.has(command)) continue;
        return false;
      }
      let reply = await driver.send(command, timeoutMs);
      if (!reply.ok && reply.error === '?' && kind === 'ATTP') {
        // ELM327 clones without TP take SP (on a genuine one SP costs an EEPROM write, so TP comes first).
        reply = await driver.send(`ATSP${command.slice(4)}`, timeoutMs);
      }
      if (!reply.ok) {
        log.debug({ target, command, error: reply.error }, 'header switch refused');
        if (reply.error !== '?') return false;
        lacking.add(kind);
        log.info({ command }, 'the adapter lacks this AT command');
        if (!restoring.has(command)) return false;
      }
    }
    adapterAt = state;
    group = target;
    return true;
  };

  const countRead = (item: PollItem) => readsByItem.set(item.pid, (readsByItem.get(item.pid) ?? 0) + 1);

  /** Applies one reply (undefined = no reply in time) to the plan, the capability model and the output. */
  const settle = (request: PollRequest, reply: ElmResponse | undefined, at: number) => {
    const items = request.items;
    if (request.kind === 'mode01') {
      const pids = items.map((i) => i.pid);
      if (reply?.ok) {
        const decoded = decodeMode01Reply(set, reply.lines, pids, headerModeForProtocol(link.info?.protocol));
        publish(decoded, at);
        const answered = decoded.answered ?? new Map<string, string>();
        capability.replied(pids, answered, request.countDigit, at);
        for (const item of items) {
          if (answered.has(item.pid)) {
            markRead(item, at);
            countRead(item);
          } else if (items.length === 1) markFailed(item, at, options.backoff);
          // A PID missing from a multi-PID reply stays due: it is asked alone next (capability).
        }
        return;
      }
      if (reply && reply.error === '?') {
        capability.refused(pids, request.countDigit, at);
        // Another form (no count digit, single PIDs) may work; a single PID refused without one is broken.
        if (items.length === 1 && !request.countDigit) markFailed(items[0]!, at, options.backoff);
        return;
      }
      if (!reply || reply.error === 'NO DATA') {
        capability.unanswered(pids, at);
        if (items.length === 1) markFailed(items[0]!, at, options.backoff);
        return;
      }
      log.debug({ command: request.command, error: reply.error, code: reply.code }, 'adapter error');
      // Bus and adapter errors are not the PIDs' fault: skip this period, no backoff.
      for (const item of items) markRead(item, at);
      return;
    }
    const item = items[0]!;
    if (!reply) {
      markFailed(item, at, options.backoff);
      return;
    }
    if (!reply.ok) {
      log.debug({ command: request.command, error: reply.error, code: reply.code }, 'adapter error');
      if (reply.error === 'NO DATA' || reply.error === '?') markFailed(item, at, options.backoff);
      else markRead(item, at);
      return;
    }
    const decoded =
      request.kind === 'atrv' ? decodeVoltageReply(reply.lines) : decodeVehicleReply(item, reply.lines, signalFor);
    publish(decoded, at);
    if (decoded.pidReads > 0 || decoded.rejected > 0) {
      markRead(item, at);
      countRead(item);
    } else markFailed(item, at, options.backoff);
  };

  const publish = (decoded: DecodedReply, at: number) => {
    for (const r of decoded.readings) deliver(r.key, r.value, at);
    reads += decoded.pidReads;
    rejected += decoded.rejected;
  };
  const done = loop().finally(() => failJobs('polling ended'));

  return {
    get reads() {
      return reads;
    },
    get rejected() {
      return rejected;
    },
    get requests() {
      return requests;
    },
    get coalesced() {
      return coalesced;
    },
    get demotions() {
      return demotions + capability.demoted;
    },
    get reprobes() {
      return reprobes + capability.reprobes;
    },
    get headerSwitches() {
      return headerSwitches;
    },
    readsByItem: () => readsByItem,
    readsPerSecond: () => reads / Math.max(0.001, (Date.now() - started) / 1000),
    plan: () => plan,
    setPeriods(periodsMs) {
      planOptions = { ...planOptions, periodsMs };
      rebuild();
      wake?.();
    },
    exclusive<T>(fn: (driver: Elm327Driver) => Promise<T>): Promise<T> {
      const driver = link.driver;
      if (!running || !driver || driver.isClosed)
        return Promise.reject(agentError('ADAPTER_UNAVAILABLE', running ? 'adapter link is down' : 'agent stopping'));
      return new Promise<T>((resolve, reject) => {
        jobs.push({ run: fn, resolve: resolve as (value: unknown) => void, reject });
        wake?.();
      });
    },
    async stop() {
      running = false;
      failJobs('agent stopping');
      wake?.();
      link.driver?.close();
      await done;
    },
  };
}
