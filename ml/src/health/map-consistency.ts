import { S } from '../signals.js';
import { STALE_MS, stopSoFar } from '../features/context.js';
import { WINDOW_MS } from '../features/windows.js';
import { fullyRunning, windowMapInputs, withinOwnRange } from '../normal/learn.js';
import { MAP_SPAN, expectMap, type MapInputs } from '../normal/map-model.js';
import { sketchQuantile } from '../normal/sketch.js';
import { signalNormal, type VehicleNormal } from '../normal/vehicle-normal.js';
import type { CheckInput, Finding } from './types.js';
import { fmt } from './window-stats.js';

const MAP = 'intake.manifold_pressure';
/**
 * Universal: with the engine stopped the manifold is at barometric pressure, and no weather at
 * any altitude pushes that above 108 kPa (the sea-level record is 108.4 kPa).
 */
export const MAX_BAROMETRIC_KPA = 108;
/**
 * Universal: standing with the engine idling no turbo or supercharger makes boost, so the manifold is
 * at most at barometric pressure, plus the few kPa a sensor ahead of the throttle reads over it at
 * idle (a turbo petrol's "MAP" often sits there: about 101 kPa idling at 97 kPa barometric).
 */
export const MAX_IDLE_KPA = MAX_BAROMETRIC_KPA + 4;
/**
 * Per vehicle: the band (98 % of healthy windows) is widened by half its width, at least 3 of the
 * car's own MAP quanta, and must be left for 4 windows in a row (a minute): a drift persists, a
 * transient (gear change, overrun) does not.
 */
const BAND_MARGIN = 1 / 2;
const CONFIRM = 4;
const STOP_CONFIRM = 1;

export function checkMapConsistency({ window, context, normal, ready }: CheckInput): Finding[] {
  // Judged at every window until the next stop: the drive between two stops says nothing against it.
  const stop = checkLastStop(context);
  if (stop) return [stop];
  if (!fullyRunning(window)) return [];
  const x = windowMapInputs(window);
  if (!ready('sensor.map_mismatch')) return [];
  const m = expectMap(normal.map, x);
  if (!m || !withinOwnRange(normal, window, m.usesLoad)) return [];
  const observed = window.frames.reduce((s, f) => s + (f.v[S.map] as number), 0) / window.frames.length;
  if (!Number.isFinite(observed)) return [];
  const quantum = signalNormal(normal, MAP).quantum ?? 1;
  const sustained = checkSustained(context.mapRing, normal, quantum);
  if (sustained) return [sustained];
  const margin = Math.max(3 * quantum, (m.high - m.low) * BAND_MARGIN);
  const low = m.expected + m.low - margin;
  const high = m.expected + m.high + margin;
  if (observed >= low && observed <= high) return [];
  const up = observed > high;
  // A MAP that reads one exact value through the whole disagreement, longer than this car's MAP ever
  // held one, is not drifting, it is frozen: say that (the mechanic checks the sensor's signal, not a hose).
  const heldMs = context.lastSeenAt[S.map]! - context.flatSince[S.map]!;
  if (
    heldMs >= Math.max(WINDOW_MS, signalNormal(normal, MAP).holdMs) &&
    context.now - context.lastSeenAt[S.map]! <= STALE_MS
  ) {
    return [
      {
        condition: `sensor.stuck.${MAP}`,
        kind: 'sensor',
        severity: 'warning',
        title: 'Intake manifold absolute pressure reading frozen',
        explanation:
          `Intake manifold pressure has read exactly ${fmt(observed, 0)} kPa for ${Math.round(heldMs / 1000)} s ` +
          `while the engine moved (now ${inputsOf(x, m.usesLoad)}), where this car's own pressure model expects ` +
          `about ${fmt(m.expected, 0)} kPa. The sensor or its signal wire is likely stuck. Check: connector and ` +
          'wiring, sensor 5 V reference, live data while revving.',
        signals: [MAP],
        observed: heldMs / 1000,
        expected: { min: low, max: high },
        unit: 's',
        confirmWindows: CONFIRM,
        tier: 'vehicle',
      },
    ];
  }
  const inputs = `at ${inputsOf(x, m.usesLoad)}`;
  return [
    mismatch(
      observed,
      { min: low, max: high },
      `Intake manifold pressure averaged ${fmt(observed, 0)} kPa over 30 s, but ${inputs} this car's own ` +
        `pressure model expects about ${fmt(m.expected, 0)} kPa (its healthy windows stay within ` +
        `${fmt(m.low, 1)} to +${fmt(m.high, 1)} kPa of it; reads ${fmt(observed - m.expected, 1)} kPa ${up ? 'high' : 'low'}).`,
      up,
      'vehicle',
    ),
  ];
}

/**
 * The last stop's idling manifold pressure against the universal idle limit. Idle is where a turbo
 * car's reading is predictable at all: moving, it follows the driver's boost demand, which no
 * reported signal gives when the throttle stands wide open.
 */
function checkLastStop(context: CheckInput['context']): Finding | null {
  // The stop the car stands at now (once long enough to judge) speaks for itself; else the last one.
  const stop = stopSoFar(context) ?? context.lastStopMap;
  const limit = stop?.engineOff ? MAX_BAROMETRIC_KPA : MAX_IDLE_KPA;
  // A reading that did not move while driving to this stop is frozen, which the stuck check names.
  if (!stop || !stop.live || !(stop.median > limit)) return null;
  const finding = stop.engineOff
    ? mismatch(
        stop.median,
        { max: limit },
        `With the engine stopped (key on) at the last stop, manifold pressure read ${fmt(stop.median, 0)} kPa; ` +
          `with the engine stopped every manifold is at barometric pressure, and no barometric pressure is higher ` +
          `than ${MAX_BAROMETRIC_KPA} kPa.`,
        true,
        'universal',
      )
    : mismatch(
        stop.median,
        { max: limit },
        `Standing with the engine idling at the last stop, manifold pressure read ${fmt(stop.median, 0)} kPa, ` +
          `above barometric pressure anywhere (at most ${MAX_BAROMETRIC_KPA} kPa) and what a sensor ahead of the ` +
          `throttle reads over it at idle (together at most ${MAX_IDLE_KPA} kPa); no turbo or supercharger boosts at idle.`,
        true,
        'universal',
      );
  // A stop's median over seconds of standing is its own confirmation, so a stop just before the engine
  // is switched off still counts. A stop that read one value throughout may be a frozen sensor: it
  // waits the usual minute, and the stuck check, which names a frozen reading, goes first.
  return { ...finding, confirmWindows: stop.flat ? CONFIRM : STOP_CONFIRM };
}

function inputsOf(x: MapInputs, usesLoad: boolean): string {
  return (
    `${fmt(x.rpm, 0)} rpm, ${fmt(x.throttle, 0)} % throttle` +
    (usesLoad ? `, ${fmt(x.load, 0)} % load` : '') +
    (x.idle ? ' at idle' : `, ${fmt(x.speed, 0)} km/h`)
  );
}

/** Sustained spans learned before the minutes-long average is trusted. */
const MIN_SPANS = 30;

/**
 * The last five minutes of driving: the driver's foot averages out, a drifting sensor does not.
 * Judged against the spread of this car's own five-minute averages, widened by a quarter.
 */
function checkSustained(ring: readonly number[], normal: VehicleNormal, quantum: number): Finding | null {
  const own = normal.map.sustained;
  if (ring.length < MAP_SPAN || own.count < MIN_SPANS) return null;
  const mean = ring.reduce((a, b) => a + b, 0) / ring.length;
  const lo = sketchQuantile(own, 0);
  const hi = sketchQuantile(own, 1);
  const margin = Math.max(3 * quantum, (hi - lo) / 4);
  if (mean >= lo - margin && mean <= hi + margin) return null;
  const up = mean > hi;
  return mismatch(
    mean,
    { min: lo - margin, max: hi + margin },
    `Over the last ${(MAP_SPAN * WINDOW_MS) / 60_000} minutes of driving, manifold pressure averaged ` +
      `${fmt(Math.abs(mean), 1)} kPa ${up ? 'above' : 'below'} this car's own pressure model; its own ` +
      `${(MAP_SPAN * WINDOW_MS) / 60_000}-minute averages stay within ${fmt(lo, 1)} to +${fmt(hi, 1)} kPa of it.`,
    up,
    'vehicle',
  );
}

function mismatch(
  observed: number,
  expected: { min?: number; max?: number },
  what: string,
  high: boolean,
  tier: 'universal' | 'vehicle',
): Finding {
  return {
    condition: 'sensor.map_mismatch',
    kind: 'sensor',
    severity: 'warning',
    title: `Manifold pressure reads ${high ? 'high' : 'low'} for the engine's state`,
    explanation:
      `${what} The MAP sensor is likely drifting or its vacuum hose is leaking or blocked. Check: with key on and ` +
      'engine off MAP should equal barometric pressure (~101 kPa at sea level); inspect the sensor hose, ' +
      'connector and 5 V reference.',
    signals: [MAP, 'engine.rpm', 'throttle.position'],
    observed,
    expected,
    unit: 'kPa',
    // Three windows (45 s): a single hard transient can push one window's averages apart.
    confirmWindows: CONFIRM,
    tier,
  };
}
