import { S } from '../signals.js';
import type { CheckInput, Finding } from './types.js';
import { fmt, meanOf } from './window-stats.js';

/**
 * Combined trim (short + long term) a 30 s window may average. carOBD's healthy windows span
 * −15.7 % to +9.7 %; the usual workshop rule flags ±10 % sustained on long-term trim alone.
 */
export const LEAN_WARN_PCT = 12;
export const RICH_WARN_PCT = -22;
/** Closed-loop fuelling needs a warm engine; cold-start enrichment would look rich. */
const CLOSED_LOOP_C = 60;

export function checkFuelTrim({ window }: CheckInput): Finding[] {
  if (window.regime === 'off') return [];
  if (!(meanOf(window.frames, S.coolant) >= CLOSED_LOOP_C)) return [];
  const stft = meanOf(window.frames, S.stft);
  const ltft = meanOf(window.frames, S.ltft);
  const total = stft + ltft;
  const signals = ['fuel.trim.short_term_b1', 'fuel.trim.long_term_b1'];
  const where = window.regime === 'idle' ? 'at idle' : 'while driving';
  if (total > LEAN_WARN_PCT) {
    const idle = window.regime === 'idle';
    return [
      {
        condition: 'fuel_trim.lean',
        kind: 'fuel_trim',
        severity: total > 2 * LEAN_WARN_PCT ? 'critical' : 'warning',
        title: idle ? 'Running lean at idle — possible vacuum leak' : 'Running lean',
        explanation:
          `The ECU is adding ${fmt(total)} % fuel ${where} (short-term ${fmt(stft)} %, long-term ${fmt(ltft)} %); ` +
          `healthy is within ±10 %, alert above +${LEAN_WARN_PCT} %. ` +
          (idle
            ? 'Lean mostly at idle points to unmetered air. Check: intake and vacuum hoses, PCV valve, ' +
              'brake booster hose, intake manifold gasket (smoke test).'
            : 'Lean under load points to fuel delivery. Check: fuel pressure, filter, injectors, ' +
              'and for intake leaks after the MAP sensor.'),
        signals,
        observed: total,
        expected: { min: -10, max: 10 },
        unit: '%',
        confirmWindows: 2,
      },
    ];
  }
  if (total < RICH_WARN_PCT) {
    return [
      {
        condition: 'fuel_trim.rich',
        kind: 'fuel_trim',
        severity: 'warning',
        title: 'Running rich',
        explanation:
          `The ECU is removing ${fmt(-total)} % fuel ${where} (short-term ${fmt(stft)} %, long-term ${fmt(ltft)} %); ` +
          `healthy is within ±10 %, alert below ${RICH_WARN_PCT} %. Check: leaking injector, fuel pressure ` +
          'regulator, EVAP purge valve stuck open, oil contaminated with fuel.',
        signals,
        observed: total,
        expected: { min: -10, max: 10 },
        unit: '%',
        confirmWindows: 2,
      },
    ];
  }
  return [];
}
