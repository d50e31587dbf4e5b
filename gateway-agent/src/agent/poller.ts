// The polling loop: asks the adapter for what is due, decodes, hands values on, heals the link.
import { sae1979Signalset, type Signalset } from '@clutch/firmware-profiles';
import type { Logger } from 'pino';
import { decodeVoltageReply } from '../elm327/voltage.js';
import { agentErrorCode, isNoReply } from '../errors.js';
import { headerModeForProtocol } from '../obd/frames.js';
import { decodeMode01Reply } from '../obd/mode01.js';
import type { DecodedReply } from '../obd/readings.js';
import type { AdapterLink } from './adapter-link.js';
import { buildPollPlan, markRead, nextRequest, type PollItem, type PollPlanOptions } from './poll-plan.js';

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
}

/** A stuck adapter answers nothing; after this many timeouts in a row it is initialised again. */
const MAX_CONSECUTIVE_TIMEOUTS = 3;

export function startPoller(options: PollerOptions): Poller {
  const { link, logger: log } = options;
  const set = options.signalset ?? sae1979Signalset();
  let planOptions: PollPlanOptions = { scale: options.pollScale };
  let plan: PollItem[] = [];
  let planFor: unknown;
  let reads = 0;
  let requests = 0;
  let rejected = 0;
  let coalesced = 0;
  let running = true;
  let wake: (() => void) | undefined;
  const started = Date.now();
  const rebuild = () => {
    plan = buildPollPlan(set, link.info?.supportedPids ?? new Set(), Date.now(), planOptions);
    planFor = link.info;
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
        if (!(await link.reopen((err as Error).message))) break;
        continue;
      }
      if (planFor !== link.info) rebuild();
      const now = Date.now();
      const request = nextRequest(plan, set, now, link.info?.isCan ?? false, options.maxPidsPerRequest);
      if (!request) {
        const next = plan.length > 0 ? Math.min(...plan.map((p) => p.nextDueMs)) : now + 1000;
        await sleep(Math.max(1, Math.min(1000, next - now)));
        continue;
      }
      try {
        requests++;
        const reply = await driver.send(request.command, options.requestTimeoutMs ?? 2000);
        timeouts = 0;
        const at = Date.now();
        if (reply.ok) {
          const decoded: DecodedReply =
            request.command === 'ATRV'
              ? decodeVoltageReply(reply.lines)
              : decodeMode01Reply(
                  set,
                  reply.lines,
                  request.items.map((i) => i.pid),
                  headerModeForProtocol(link.info?.protocol),
                );
          for (const r of decoded.readings) deliver(r.key, r.value, at);
          reads += decoded.pidReads;
          rejected += decoded.rejected;
        } else {
          log.debug({ command: request.command, error: reply.error, code: reply.code }, 'adapter error');
        }
      } catch (err) {
        if (!running) break;
        if (isNoReply(err)) timeouts++;
        else if (agentErrorCode(err) !== 'ADAPTER_CLOSED')
          log.warn({ err, command: request.command }, 'adapter command failed');
      }
      for (const item of request.items) markRead(item, Date.now());
    }
  };
  const done = loop();

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
    readsPerSecond: () => reads / Math.max(0.001, (Date.now() - started) / 1000),
    plan: () => plan,
    setPeriods(periodsMs) {
      planOptions = { ...planOptions, periodsMs };
      rebuild();
      wake?.();
    },
    async stop() {
      running = false;
      wake?.();
      link.driver?.close();
      await done;
    },
  };
}
