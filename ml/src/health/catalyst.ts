import { S } from '../signals.js';
import { runningForMs } from '../features/context.js';
import type { CheckInput, Finding } from './types.js';
import { fmt, meanOf } from './window-stats.js';

const CAT = 'catalyst.temp_b1s1';
/** carOBD's hottest catalyst reading is 777 °C; substrates start to suffer above ~900 °C. */
export const CAT_HOT_C = 870;
/** A warm, moving engine keeps a working catalyst well above light-off (~250 °C). */
export const CAT_COLD_C = 200;
const WARM_MS = 15 * 60_000;

export function checkCatalyst({ window, context }: CheckInput): Finding[] {
  if (window.regime === 'off') return [];
  const cat = meanOf(window.frames, S.catalyst);
  if (cat > CAT_HOT_C) {
    return [
      {
        condition: 'catalyst.hot',
        kind: 'catalyst',
        severity: 'critical',
        title: 'Catalytic converter overheating',
        explanation:
          `Catalyst (bank 1 sensor 1) reads ${fmt(cat, 0)} °C; this car stays below 780 °C in normal use ` +
          `(alert above ${CAT_HOT_C} °C). Unburnt fuel is burning in the converter. Check: misfires ` +
          '(plugs, coils), rich running, ignition timing.',
        signals: [CAT],
        observed: cat,
        expected: { max: 780 },
        unit: '°C',
        confirmWindows: 2,
      },
    ];
  }
  const coolant = meanOf(window.frames, S.coolant);
  if (window.regime === 'moving' && runningForMs(context) >= WARM_MS && coolant >= 80 && cat < CAT_COLD_C) {
    return [
      {
        condition: 'catalyst.cold',
        kind: 'catalyst',
        severity: 'warning',
        title: 'Catalytic converter not at working temperature',
        explanation:
          `Catalyst reads ${fmt(cat, 0)} °C while driving with a warm engine (coolant ${fmt(coolant, 0)} °C); ` +
          `a working converter runs above ${CAT_COLD_C} °C. Check: the catalyst temperature sensor and ` +
          'wiring, exhaust leaks before the converter, a failed (inactive) catalyst.',
        signals: [CAT, 'engine.coolant_temp'],
        observed: cat,
        expected: { min: CAT_COLD_C },
        unit: '°C',
        confirmWindows: 2,
      },
    ];
  }
  return [];
}
