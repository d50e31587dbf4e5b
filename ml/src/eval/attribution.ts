import type { FaultType } from './inject.js';

/** What a detector raised, reduced to what attribution reads. */
export interface ScoredAlert {
  at: number;
  /** Condition id (`cooling.overheat`, `sensor.stuck.engine.rpm`, `zscore.<signal>` for the baseline). */
  condition: string;
  /** Catalogue keys the alert is about; for `anomaly.autoencoder` the first is the one it blames most. */
  signals: readonly string[];
}

/** The fault a copy carries and the signal it acts on (InjectedDrive.fault / .signal). */
export interface InjectedFault {
  fault: FaultType;
  signal: string;
}

/** Signals whose alert by a per-signal detector (the z-score baseline) names the fault. */
function faultSignals({ fault, signal }: InjectedFault): string[] {
  switch (fault) {
    case 'overheating':
      return ['engine.coolant_temp'];
    case 'weak_battery':
      return ['ecu.control_module_voltage'];
    case 'lean_trims':
      return ['fuel.trim.short_term_b1', 'fuel.trim.long_term_b1'];
    default:
      return [signal];
  }
}

/**
 * Whether an alert names the injected fault, i.e. would send a mechanic to the right place:
 * overheating → cooling.overheat; weak_battery → battery.charging; lean_trims → fuel_trim.lean;
 * stuck_sensor / noisy_signal → sensor.stuck / sensor.noisy of the injected signal; sensor_drift →
 * sensor.map_mismatch. The fleet model's alert ("Readings inconsistent: <signal>") names a reading,
 * not a condition: it counts when the reading it blames first is the one the fault acts on (it sends
 * the mechanic to that sensor or system), and is a wrong alert otherwise. The z-score baseline names
 * only a signal too and is judged the same way.
 */
export function namesFault(alert: ScoredAlert, injected: InjectedFault): boolean {
  const c = alert.condition;
  if (c.startsWith('zscore.')) return faultSignals(injected).includes(c.slice('zscore.'.length));
  if (c === 'anomaly.autoencoder') return faultSignals(injected).includes(alert.signals[0] ?? '');
  switch (injected.fault) {
    case 'overheating':
      return c === 'cooling.overheat';
    case 'weak_battery':
      return c === 'battery.charging';
    case 'lean_trims':
      return c === 'fuel_trim.lean';
    case 'stuck_sensor':
      return c === `sensor.stuck.${injected.signal}`;
    case 'noisy_signal':
      return c === `sensor.noisy.${injected.signal}`;
    case 'sensor_drift':
      return c === 'sensor.map_mismatch';
  }
}

/** How one faulty copy was judged. */
export interface EpisodeOutcome {
  /** An alert naming the fault fired at or after onset. */
  detected: boolean;
  /** Seconds from onset to the first naming alert (NaN when not detected). */
  delayS: number;
  /** Any alert before onset, or an alert after onset that names something else. */
  falsePositive: boolean;
  /** Conditions of the alerts that made it a false positive (before onset: prefixed `before:`). */
  wrong: string[];
}

/**
 * Judges one faulty copy. An unrelated alert after onset is not ignored: it would send a mechanic
 * to the wrong part, so it makes the episode a false positive even when the fault is also named.
 */
export function judgeEpisode(alerts: readonly ScoredAlert[], onsetMs: number, injected: InjectedFault): EpisodeOutcome {
  let first = Infinity;
  const wrong: string[] = [];
  for (const a of alerts) {
    if (a.at < onsetMs) wrong.push(`before:${a.condition}`);
    else if (namesFault(a, injected)) first = Math.min(first, a.at);
    else wrong.push(a.condition);
  }
  const detected = Number.isFinite(first);
  return { detected, delayS: detected ? (first - onsetMs) / 1000 : NaN, falsePositive: wrong.length > 0, wrong };
}
