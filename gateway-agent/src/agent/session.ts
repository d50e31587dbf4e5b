// Adapter initialisation and identification (DESIGN §5 "Init"), and the wait for an adapter at start-up.
import { selectProfile } from '@clutch/firmware-profiles';
import type { Elm327Driver } from '../elm327/driver.js';
import { plausibleBatteryVoltage } from '../elm327/voltage.js';
import { parseFrames } from '../obd/frames.js';
import { vinFromLines } from '../obd/vin.js';
import { pidHex, supportedPidsFromMessages } from '../obd/supported-pids.js';
import { backoffDelay, type BackoffOptions } from '../transport/backoff.js';

export interface AdapterInfo {
  readonly banner?: string;
  /** ATDPN answer, e.g. 'A6' (A = chosen automatically). */
  readonly protocol?: string;
  /** ISO 15765-4 (protocols 6-9) or user CAN (A-C): multi-PID requests are allowed. */
  readonly isCan: boolean;
  readonly supportedPids: ReadonlySet<number>;
  readonly vin?: string;
  readonly batteryVoltage?: number;
  /** Firmware profile chosen by VIN and supported PIDs (SAE J1979 when none fits). */
  readonly profile: { readonly name: string; readonly reason: string; readonly modelYear?: number };
}

export async function initialiseAdapter(driver: Elm327Driver): Promise<AdapterInfo> {
  const reset = await driver.send('ATZ', 5000);
  const banner = reset.lines.find((l) => /ELM/i.test(l));
  // Echo off first: later replies are then exactly what the adapter says (ELM327 DS, ATE0).
  for (const cmd of ['ATE0', 'ATL0', 'ATS0', 'ATH1', 'ATSP0', 'ATAT1']) await driver.send(cmd, 2000);

  // SAE J1979 Mode 01 PID 00: the first request also makes ATSP0 search for the protocol, which takes seconds.
  const supported = new Set<number>();
  for (let base = 0; base < 0x100; base += 0x20) {
    const reply = await driver.send(`01${pidHex(base)}`, base === 0 ? 15_000 : 5000);
    if (!reply.ok) break;
    const found = supportedPidsFromMessages(parseFrames(reply.lines));
    for (const pid of found) supported.add(pid);
    if (!found.has(base + 0x20)) break;
  }
  const dpn = await driver.send('ATDPN', 2000);
  const protocol = dpn.ok ? dpn.lines[0] : undefined;
  const number = protocol?.replace(/^A/, '') ?? '';
  const isCan = /^[6-9A-C]$/.test(number);
  const vinReply = await driver.send('0902', 5000);
  const vin = vinReply.ok ? vinFromLines(vinReply.lines) : undefined;
  const rv = await driver.send('ATRV', 2000);
  const batteryVoltage = rv.ok ? plausibleBatteryVoltage(rv.lines) : undefined;
  const choice = selectProfile(vin, supported);
  const profile = {
    name: choice.name,
    reason: choice.reason,
    ...(choice.modelYear ? { modelYear: choice.modelYear } : {}),
  };
  return { banner, protocol, isCan, supportedPids: supported, vin, batteryVoltage, profile };
}

/** What waitForAdapter needs of the link (agent/adapter-link.ts AdapterLink). */
export interface OpenableLink {
  open(): Promise<AdapterInfo>;
}

export interface AdapterWaitOptions {
  /** Backoff between attempts: exponential with full jitter from initialMs (500) up to maxMs (30 s). */
  readonly backoff?: BackoffOptions;
  /** Ends the wait: waitForAdapter then rejects with the signal's reason (SIGINT/SIGTERM at start-up). */
  readonly signal?: AbortSignal;
  /** Called after each failed attempt, before the wait (logs, the agent's `waiting-for-adapter` state). */
  readonly onRetry?: (failure: { attempt: number; delayMs: number; reason: string }) => void;
}

/**
 * Opens and initialises the adapter, retrying until it answers. On a Pi the agent often starts before
 * its adapter can: the USB adapter still enumerating (no /dev/ttyUSB0), RFCOMM not bound yet, or the
 * adapter powered with the ignition and silent until then (no prompt after ATZ). Each attempt opens the
 * port afresh (serialport flushes both directions on open, so nothing stale from a failed attempt is
 * read as the answer to the next one).
 */
export async function waitForAdapter(link: OpenableLink, options: AdapterWaitOptions = {}): Promise<AdapterInfo> {
  const { signal } = options;
  for (let attempt = 0; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await link.open();
    } catch (err) {
      signal?.throwIfAborted();
      const delayMs = backoffDelay(attempt, options.backoff);
      options.onRetry?.({ attempt: attempt + 1, delayMs, reason: (err as Error).message });
      await abortableSleep(delayMs, signal);
    }
  }
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
    };
    const aborted = () => {
      done();
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
