import { S, SIGNAL_COUNT, FEATURE_SIGNALS, formatValue, signalDefinition } from '../signals.js';
import { STALE_MS, activityBin, driverOf, holdActivity } from '../features/context.js';
import { highest } from '../normal/sketch.js';
import { operatingRegime, regimeIndex, stepProfile } from '../normal/learn.js';
import { NEEDS } from '../normal/readiness.js';
import { OPERATING_REGIMES, signalNormal, type SignalNormal } from '../normal/vehicle-normal.js';
import type { CheckInput, Finding } from './types.js';

/** Sign-reversing steps beyond the limit this many times in 30 s is noise, not one glitch. */
const NOISY_REVERSALS = 3;
/**
 * Thermally damped signals: coolant and intake air cannot zig-zag; the fast ones legitimately do
 * (exhaust gas at the catalyst swings with every throttle change).
 */
const DAMPED: readonly number[] = [S.coolant, S.iat];
/** Universal zig-zag amplitude no sensor's thermal mass allows (°C), whatever the car. */
const UNIVERSAL_ZIGZAG: Partial<Record<number, number>> = { [S.coolant]: 10, [S.iat]: 20 };
/** Per vehicle: margins over the car's own longest hold, own hold activity and own zig-zags. */
const HOLD_MARGIN = 4;
/** A signal is "always alive" when its longest rest at a steady idle is under a quarter of MIN_HOLD_MS. */
const ALIVE_MARGIN = 4;
/**
 * Signals a control loop or a pulsation keeps moving at any steady state, idle included: the idle
 * speed controller (rpm, and the manifold pressure it sets), closed-loop fuelling (short-term trim
 * follows the oxygen sensor's switching), the alternator's regulator (module voltage). Temperatures,
 * throttle, calculated load and long-term trim may legitimately settle at idle and are not among them.
 */
const RESTLESS: readonly number[] = [S.rpm, S.map, S.stft, S.voltage];
/**
 * Idle windows this car must have shown (10 minutes) before a steady-idle hold is judged against its
 * own longest hold: a car seen only driving has not shown how its signals rest at idle.
 */
const IDLE_EVIDENCE_WINDOWS = 20;
const IDLE = regimeIndex('idle');
/** rpm moved at least 250 rpm (speed 5 km/h for rpm itself) during the hold. */
const MIN_ACTIVITY_BIN = 1;
const MIN_HOLD_MS = 20_000;
const ACTIVITY_MARGIN = 1.5;
const ZIGZAG_MARGIN = 1.5;
/** Dithering by a quantum or two is how a resolution-limited logger reads a steady value. */
const MIN_ZIGZAG_QUANTA = 3;
/** A signal must change in at least this share of running windows to be judged frozen. */
const CHANGING_SHARE = 0.5;
/** Regime evidence needed before its own zig-zag limit is used instead of the widest regime's. */
const REGIME_WINDOWS = 20;

/**
 * Sensor plausibility, judged against this car's own signal and logger profile: frozen = one exact
 * value held longer than this car's signal ever holds, or held while the engine's state changed
 * more than it ever did during a hold; erratic = repeated sign-reversing steps far beyond this
 * car's own zig-zags in the same regime (a step of a quantum or two never counts).
 */
export function checkSensors({ window, context, normal, ready }: CheckInput): Finding[] {
  if (window.regime === 'off') return [];
  const findings: Finding[] = [];
  if (ready('sensor.stuck')) {
    for (let i = 0; i < SIGNAL_COUNT; i++) {
      const s = signalNormal(normal, FEATURE_SIGNALS[i] as string);
      if (s.windows < NEEDS.signalWindows || s.changing < CHANGING_SHARE * s.windows) continue;
      const since = context.flatSince[i] as number;
      if (!Number.isFinite(since)) continue;
      // Only evidence counts: the run ends at the last time the signal was actually reported, and a
      // signal that went quiet is stale (a polling gap), not stuck.
      const lastSeen = context.lastSeenAt[i] as number;
      if (!(context.now - lastSeen <= STALE_MS)) continue;
      const flatMs = lastSeen - since;
      if (flatMs < MIN_HOLD_MS) continue;
      // Compare with this car's holds that saw at least (a margin under) this much engine activity.
      const activity = holdActivity(context, i);
      const bin = activityBin(i, activity / ACTIVITY_MARGIN);
      // A stopped car reads 0 km/h whatever the engine does; long-term trim is a stored adaptation
      // the ECU updates only now and then (SAE J1979), so holding it for minutes is its job.
      if (i === S.speed && context.flatValue[i] === 0) continue;
      if (i === S.ltft) continue;
      let longest = 0;
      for (let k = bin; k < s.holdByActivity.length; k++) longest = Math.max(longest, s.holdByActivity[k] as number);
      // Frozen means held while the engine's state moved: at a steady idle a frozen value cannot be
      // told from a steady one, unless this car's signal never rests even then (it never held a value
      // 5 s idling, or a control loop keeps it moving). Only a car seen idling has shown either: holds
      // while driving steadily say nothing about idle.
      const alive =
        (s.range[IDLE]?.[0] ?? 0) >= IDLE_EVIDENCE_WINDOWS &&
        ((s.holdByActivity[0] as number) * ALIVE_MARGIN <= MIN_HOLD_MS ||
          (RESTLESS.includes(i) && !openLoopTrim(i, context)));
      if (bin < MIN_ACTIVITY_BIN && !alive) continue;
      const limitMs = Math.max(MIN_HOLD_MS, longest * HOLD_MARGIN);
      if (flatMs > limitMs) findings.push(stuck(i, context.flatValue[i] as number, flatMs, activity, longest, limitMs));
    }
  }
  const own = ready('sensor.noisy');
  const regime = own ? operatingRegime(normal, window) : 'idle';
  for (const i of DAMPED) {
    const s = signalNormal(normal, FEATURE_SIGNALS[i] as string);
    const universal = UNIVERSAL_ZIGZAG[i] as number;
    let limit = universal;
    let tier: 'universal' | 'vehicle' = 'universal';
    if (own && s.windows >= NEEDS.signalWindows) {
      const r = regimeIndex(regime);
      const widest = Math.max(...s.zigzag.map(highest).filter(Number.isFinite), 0);
      const mine = (s.zigzag[r]?.[0] ?? 0) >= REGIME_WINDOWS ? highest(s.zigzag[r]!) : widest;
      limit = Math.min(universal, Math.max(MIN_ZIGZAG_QUANTA * (s.quantum ?? 0), mine * ZIGZAG_MARGIN));
      tier = 'vehicle';
    }
    const { above: count, largest } = stepProfile(window.frames, i, limit);
    if (count >= NOISY_REVERSALS) findings.push(noisy(i, s, count, largest, limit, tier, regime));
  }
  return findings;
}

/**
 * Short-term trim reads exactly 0 % in open loop (cold start, fuel cut, some ECUs at idle): a trim
 * held at 0 at a steady idle cannot be told from an ECU that is not trimming.
 */
function openLoopTrim(i: number, context: CheckInput['context']): boolean {
  return i === S.stft && context.flatValue[i] === 0;
}

function stuck(
  i: number,
  value: number,
  flatMs: number,
  activity: number,
  longestMs: number,
  limitMs: number,
): Finding {
  const def = signalDefinition(i);
  const d = driverOf(i);
  const driver = signalDefinition(d).name.toLowerCase();
  const own =
    longestMs > 0
      ? `while ${driver} moved that much, this car's ${def.name.toLowerCase()} never held one value longer than ${Math.round(longestMs / 1000)} s`
      : `this car's ${def.name.toLowerCase()} has never held one value while ${driver} moved that much`;
  return {
    condition: `sensor.stuck.${def.key}`,
    kind: 'sensor',
    severity: 'warning',
    title: `${def.name} reading frozen`,
    explanation:
      `${def.name} has read exactly ${formatValue(i, value)} for ${Math.round(flatMs / 1000)} s with the engine ` +
      `running while ${driver} moved over ${formatValue(d, activity)}; ${own}. The sensor or its signal wire is ` +
      'likely stuck. Check: connector and wiring, sensor reference voltage, live data while revving.',
    signals: [def.key],
    observed: flatMs / 1000,
    expected: { max: Math.round(limitMs) / 1000 },
    unit: 's',
    tier: 'vehicle',
  };
}

function noisy(
  i: number,
  s: SignalNormal,
  count: number,
  largest: number,
  limit: number,
  tier: 'universal' | 'vehicle',
  regime: (typeof OPERATING_REGIMES)[number],
): Finding {
  const def = signalDefinition(i);
  const own =
    tier === 'vehicle'
      ? `on this car it never zig-zags by more than ${formatValue(i, limit / ZIGZAG_MARGIN)} ${regime === 'idle' ? 'at idle' : `in ${regime}`} ` +
        `(logger resolution ${formatValue(i, s.quantum ?? 0)})`
      : `no ${def.name.toLowerCase()} sensor can swing ${formatValue(i, limit)} back and forth that fast`;
  return {
    condition: `sensor.noisy.${def.key}`,
    kind: 'sensor',
    severity: 'warning',
    title: `${def.name} signal erratic`,
    explanation:
      `${def.name} jumped back and forth by more than ${formatValue(i, limit)} ${count} times in 30 s (largest ` +
      `${formatValue(i, largest)}); ${own}. The real temperature cannot change direction that fast. Check: loose ` +
      'connector, chafed wiring, corroded sensor terminals, poor ground.',
    signals: [def.key],
    observed: largest,
    expected: { max: limit },
    unit: def.unit,
    tier,
  };
}
