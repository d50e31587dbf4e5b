import { S } from '../signals.js';
import { runningForMs } from '../features/context.js';
import { sketchQuantile } from '../normal/sketch.js';
import type { CheckInput, Finding } from './types.js';
import { fmt, isRunning, meanOf, tail } from './window-stats.js';

const COOLANT = 'engine.coolant_temp';
/**
 * Universal: no pressurised cooling system regulates above ~115 °C (a 50/50 mix under a 1.4 bar
 * cap boils near 125 °C), so 120 °C is overheating on any car, 125 °C is at the boil.
 */
export const UNIVERSAL_OVERHEAT_C = 120;
export const UNIVERSAL_CRITICAL_C = 125;
/** Per vehicle: this far above the hottest the car itself ran once warm (fan cycling is inside it). */
export const OVERHEAT_MARGIN_C = 6;
/** The thermostat opens above 75 °C on every car; still below 60 °C means it never closed. */
export const WARMUP_MIN_C = 60;
/**
 * At least 30 min, and three times this car's own slowest warm-up from a cold start: warm-up time
 * doubles from summer to winter and with light load, and the cold starts seen may all be summer ones.
 */
export const WARMUP_MIN_MS = 30 * 60_000;
const WARMUP_MARGIN = 3;

export function checkCooling({ window, context, normal, ready }: CheckInput): Finding[] {
  if (window.regime === 'off') return [];
  const findings: Finding[] = [];
  // The last 10 s, not the whole window: a rising temperature should alert as soon as it crosses.
  const recent = meanOf(tail(window.frames, 10_000), S.coolant, isRunning);
  const own = ready('cooling.overheat');
  const lo = sketchQuantile(normal.coolantWarm, 0.01);
  const hi = sketchQuantile(normal.coolantWarm, 0.99);
  const top = sketchQuantile(normal.coolantWarm, 1);
  const limit = own ? Math.min(UNIVERSAL_OVERHEAT_C, top + OVERHEAT_MARGIN_C) : UNIVERSAL_OVERHEAT_C;
  if (recent >= limit) {
    const critical = recent >= UNIVERSAL_CRITICAL_C || (own && recent >= limit + 8);
    const band = own
      ? `this car normally holds ${fmt(lo, 0)}–${fmt(hi, 0)} °C once warm (hottest seen ${fmt(top, 0)} °C, alert at ${fmt(limit, 0)} °C)`
      : `no cooling system regulates above about 115 °C (alert at ${UNIVERSAL_OVERHEAT_C} °C)`;
    findings.push({
      condition: 'cooling.overheat',
      kind: 'cooling',
      severity: critical ? 'critical' : 'warning',
      title: critical ? 'Engine overheating — stop safely' : 'Coolant temperature high',
      explanation:
        `Coolant reads ${fmt(recent, 0)} °C; ${band}. Check: coolant level and leaks, radiator fan ` +
        'operation, thermostat, water pump, and a blocked radiator.',
      signals: [COOLANT],
      observed: recent,
      expected: own ? { min: lo, max: hi } : { max: UNIVERSAL_OVERHEAT_C },
      unit: '°C',
      tier: own ? 'vehicle' : 'universal',
    });
  }
  if (ready('cooling.warmup')) {
    const slowest = sketchQuantile(normal.warmupMs, 1);
    const allowMs = Math.max(WARMUP_MIN_MS, WARMUP_MARGIN * slowest);
    const ranMs = runningForMs(context);
    const coolant = meanOf(window.frames, S.coolant);
    if (ranMs >= allowMs && coolant < WARMUP_MIN_C) {
      findings.push({
        condition: 'cooling.warmup',
        kind: 'cooling',
        severity: 'warning',
        title: 'Engine not reaching operating temperature',
        explanation:
          `After ${Math.round(ranMs / 60_000)} min of running the coolant is only ${fmt(coolant, 0)} °C; from a cold ` +
          `start this car passes ${WARMUP_MIN_C} °C within ${Math.round(slowest / 60_000)} min. Likely a thermostat ` +
          'stuck open or a faulty coolant temperature sensor. Check: thermostat, sensor resistance against a thermometer.',
        signals: [COOLANT],
        observed: coolant,
        expected: { min: WARMUP_MIN_C },
        unit: '°C',
        tier: 'vehicle',
      });
    }
  }
  return findings;
}
