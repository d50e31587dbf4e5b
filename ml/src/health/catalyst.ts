import { S } from '../signals.js';
import { runningForMs } from '../features/context.js';
import { CAT_WARM_MS, REGULATING_C } from '../normal/learn.js';
import { sketchQuantile } from '../normal/sketch.js';
import type { CheckInput, Finding } from './types.js';
import { fmt, meanOf } from './window-stats.js';

const CAT = 'catalyst.temp_b1s1';
/** Universal: catalyst substrates and washcoats are damaged above ~950 °C on any car. */
export const UNIVERSAL_CAT_HOT_C = 950;
/** Per vehicle: this far above the hottest the car's own catalyst ran. */
export const CAT_HOT_MARGIN_C = 100;
/** Per vehicle: this far below the coolest warm, moving reading of its own; never above light-off. */
export const CAT_COLD_MARGIN_C = 100;
const LIGHT_OFF_C = 250;

export function checkCatalyst({ window, context, normal, ready }: CheckInput): Finding[] {
  if (window.regime === 'off') return [];
  const cat = meanOf(window.frames, S.catalyst);
  if (!Number.isFinite(cat)) return [];
  const own = ready('catalyst');
  const lo = sketchQuantile(normal.catalyst, 0.01);
  const hi = sketchQuantile(normal.catalyst, 0.99);
  const top = sketchQuantile(normal.catalyst, 1);
  const hotAt = own ? Math.min(UNIVERSAL_CAT_HOT_C, top + CAT_HOT_MARGIN_C) : UNIVERSAL_CAT_HOT_C;
  if (cat > hotAt) {
    return [
      {
        condition: 'catalyst.hot',
        kind: 'catalyst',
        severity: 'critical',
        title: 'Catalytic converter overheating',
        explanation:
          `Catalyst (bank 1 sensor 1) reads ${fmt(cat, 0)} °C; ` +
          (own
            ? `this car's catalyst normally runs ${fmt(lo, 0)}–${fmt(hi, 0)} °C (hottest seen ${fmt(top, 0)} °C, alert above ${fmt(hotAt, 0)} °C). `
            : `substrates are damaged above ${UNIVERSAL_CAT_HOT_C} °C. `) +
          'Unburnt fuel is burning in the converter. Check: misfires (plugs, coils), rich running, ignition timing.',
        signals: [CAT],
        observed: cat,
        expected: own ? { min: lo, max: hi } : { max: UNIVERSAL_CAT_HOT_C },
        unit: '°C',
        confirmWindows: 2,
        tier: own ? 'vehicle' : 'universal',
      },
    ];
  }
  const coolant = meanOf(window.frames, S.coolant);
  const coldAt = Math.min(LIGHT_OFF_C, sketchQuantile(normal.catalyst, 0.001) - CAT_COLD_MARGIN_C);
  if (
    own &&
    window.regime === 'moving' &&
    runningForMs(context) >= CAT_WARM_MS &&
    coolant >= REGULATING_C &&
    cat < coldAt
  ) {
    return [
      {
        condition: 'catalyst.cold',
        kind: 'catalyst',
        severity: 'warning',
        title: 'Catalytic converter not at working temperature',
        explanation:
          `Catalyst reads ${fmt(cat, 0)} °C while driving with a warm engine (coolant ${fmt(coolant, 0)} °C); this ` +
          `car's catalyst normally runs ${fmt(lo, 0)}–${fmt(hi, 0)} °C when warm (alert below ${fmt(coldAt, 0)} °C). ` +
          'Check: the catalyst temperature sensor and wiring, exhaust leaks before the converter, a failed ' +
          '(inactive) catalyst.',
        signals: [CAT, 'engine.coolant_temp'],
        observed: cat,
        expected: { min: lo },
        unit: '°C',
        confirmWindows: 2,
        tier: 'vehicle',
      },
    ];
  }
  return [];
}
