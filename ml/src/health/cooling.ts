import { S } from '../signals.js';
import { runningForMs } from '../features/context.js';
import type { CheckInput, Finding } from './types.js';
import { fmt, isRunning, meanOf, tail } from './window-stats.js';

const COOLANT = 'engine.coolant_temp';
/** Thermostat regulation keeps this engine at 85–96 °C in every carOBD drive. */
export const OVERHEAT_WARN_C = 100;
export const OVERHEAT_CRITICAL_C = 108;
/** A thermostat stuck open: still below 60 °C after 20 minutes of running. */
export const WARMUP_MS = 20 * 60_000;
export const WARMUP_MIN_C = 60;

export function checkCooling({ window, context }: CheckInput): Finding[] {
  if (window.regime === 'off') return [];
  const findings: Finding[] = [];
  // The last 10 s, not the whole window: a rising temperature should alert as soon as it crosses.
  const recent = meanOf(tail(window.frames, 10_000), S.coolant, isRunning);
  if (recent >= OVERHEAT_WARN_C) {
    const critical = recent >= OVERHEAT_CRITICAL_C;
    findings.push({
      condition: 'cooling.overheat',
      kind: 'cooling',
      severity: critical ? 'critical' : 'warning',
      title: critical ? 'Engine overheating — stop safely' : 'Coolant temperature high',
      explanation:
        `Coolant reads ${fmt(recent, 0)} °C; this engine normally regulates at 85–96 °C (alert at ` +
        `${OVERHEAT_WARN_C} °C). Check: coolant level and leaks, radiator fan operation, thermostat, ` +
        'water pump, and a blocked radiator.',
      signals: [COOLANT],
      observed: recent,
      expected: { min: 85, max: 96 },
      unit: '°C',
    });
  }
  const ranMs = runningForMs(context);
  const coolant = meanOf(window.frames, S.coolant);
  if (ranMs >= WARMUP_MS && coolant < WARMUP_MIN_C) {
    findings.push({
      condition: 'cooling.warmup',
      kind: 'cooling',
      severity: 'warning',
      title: 'Engine not reaching operating temperature',
      explanation:
        `After ${Math.round(ranMs / 60_000)} min of running the coolant is only ${fmt(coolant, 0)} °C; it should ` +
        `pass ${WARMUP_MIN_C} °C well within 20 min. Likely a thermostat stuck open or a faulty coolant ` +
        'temperature sensor. Check: thermostat, sensor resistance against a thermometer.',
      signals: [COOLANT],
      observed: coolant,
      expected: { min: WARMUP_MIN_C },
      unit: '°C',
    });
  }
  return findings;
}
