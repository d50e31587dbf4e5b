import { S } from '../signals.js';
import { REGULATING_C, operatingRegime, regimeIndex } from '../normal/learn.js';
import { signalNormal } from '../normal/vehicle-normal.js';
import { highest, lowest, sketchQuantile } from '../normal/sketch.js';
import type { CheckInput, Finding } from './types.js';
import { fmt, isRunning, meanOf } from './window-stats.js';

/**
 * Universal: ECUs set their lean/rich system codes (P0171/P0172) around ±25 % combined trim on
 * every make; beyond that the fuelling is out of control whatever the car.
 */
export const UNIVERSAL_TRIM_PCT = 25;
/**
 * Per vehicle: beyond the widest this car's own warm trims went in the regime, by half the width of
 * that band and at least 6 points (trims wander more than a few calibration hours show).
 */
export const TRIM_MARGIN_PCT = 6;

export function checkFuelTrim({ window, normal, ready }: CheckInput): Finding[] {
  if (window.regime === 'off') return [];
  // Closed-loop fuelling needs a warm engine; cold-start enrichment would look rich.
  let minCoolant = Infinity;
  for (const f of window.frames) if (isRunning(f)) minCoolant = Math.min(minCoolant, f.v[S.coolant] as number);
  if (!(minCoolant >= REGULATING_C)) return [];
  const stft = meanOf(window.frames, S.stft);
  const ltft = meanOf(window.frames, S.ltft);
  const total = stft + ltft;
  if (!Number.isFinite(total)) return [];
  const idle = window.regime === 'idle';
  const own = ready('fuel_trim');
  const sketch = idle ? normal.trimIdle : normal.trimMoving;
  const lo = sketchQuantile(sketch, 0.001);
  const hi = sketchQuantile(sketch, 0.999);
  const median = sketchQuantile(sketch, 0.5);
  const margin = Math.max(TRIM_MARGIN_PCT, (hi - lo) / 2);
  const leanAt = own ? Math.min(UNIVERSAL_TRIM_PCT, hi + margin) : UNIVERSAL_TRIM_PCT;
  const richAt = own ? Math.max(-UNIVERSAL_TRIM_PCT, lo - margin) : -UNIVERSAL_TRIM_PCT;
  const signals = ['fuel.trim.short_term_b1', 'fuel.trim.long_term_b1'];
  const where = idle ? 'at idle' : 'while driving';
  const baseline = own
    ? `this car's trims normally sit at ${fmt(lo)} to ${fmt(hi)} % ${where} (typically ${fmt(median)} %)`
    : `beyond ±${UNIVERSAL_TRIM_PCT} % any ECU flags its fuelling`;
  const tier = own ? ('vehicle' as const) : ('universal' as const);
  // A lasting mixture fault is what long-term trim learns; a short-term excursion alone (a purge
  // cycle, a long idle) is the ECU trimming, so the per-vehicle limit also wants long-term trim
  // beyond anything this car's own long-term trim held in this regime.
  const ownLtft = signalNormal(normal, 'fuel.trim.long_term_b1').range[regimeIndex(operatingRegime(normal, window))];
  const ltftHigh = own && ownLtft ? highest(ownLtft) : -Infinity;
  const ltftLow = own && ownLtft ? lowest(ownLtft) : Infinity;
  if (total > leanAt && !(ltft <= ltftHigh)) {
    return [
      {
        condition: 'fuel_trim.lean',
        kind: 'fuel_trim',
        severity: total > UNIVERSAL_TRIM_PCT ? 'critical' : 'warning',
        title: idle ? 'Running lean at idle — possible vacuum leak' : 'Running lean',
        explanation:
          `The ECU is adding ${fmt(total)} % fuel ${where} (short-term ${fmt(stft)} %, long-term ${fmt(ltft)} %); ` +
          `${baseline}, alert above ${fmt(leanAt)} %. ` +
          (idle
            ? 'Lean mostly at idle points to unmetered air. Check: intake and vacuum hoses, PCV valve, ' +
              'brake booster hose, intake manifold gasket (smoke test).'
            : 'Lean under load points to fuel delivery. Check: fuel pressure, filter, injectors, ' +
              'and for intake leaks after the MAP sensor.'),
        signals,
        observed: total,
        expected: own ? { min: lo, max: hi } : { min: -UNIVERSAL_TRIM_PCT, max: UNIVERSAL_TRIM_PCT },
        unit: '%',
        confirmWindows: 2,
        tier,
      },
    ];
  }
  if (total < richAt && !(ltft >= ltftLow)) {
    return [
      {
        condition: 'fuel_trim.rich',
        kind: 'fuel_trim',
        severity: 'warning',
        title: 'Running rich',
        explanation:
          `The ECU is removing ${fmt(-total)} % fuel ${where} (short-term ${fmt(stft)} %, long-term ${fmt(ltft)} %); ` +
          `${baseline}, alert below ${fmt(richAt)} %. Check: leaking injector, fuel pressure ` +
          'regulator, EVAP purge valve stuck open, oil contaminated with fuel.',
        signals,
        observed: total,
        expected: own ? { min: lo, max: hi } : { min: -UNIVERSAL_TRIM_PCT, max: UNIVERSAL_TRIM_PCT },
        unit: '%',
        confirmWindows: 2,
        tier,
      },
    ];
  }
  return [];
}
