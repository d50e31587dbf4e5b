import { S } from '../signals.js';
import { runningForMs } from '../features/context.js';
import type { CheckInput, Finding } from './types.js';
import { fmt, isOff, meanOf, medianOf } from './window-stats.js';

const VOLTAGE = 'ecu.control_module_voltage';
/** A charging system holds 13.2–14.8 V; carOBD's running windows never average below 12.97 V. */
export const CHARGING_WARN_V = 12.7;
export const CHARGING_CRITICAL_V = 12.0;
/** 12.2 V at rest is a battery about half charged. */
export const RESTING_WARN_V = 12.2;
/** The logger catches the start-up dip; healthy starts in carOBD dip to 7.6 V at worst. */
export const CRANKING_WARN_V = 7.0;
/** The first minute after a start is excluded: the alternator is still ramping up. */
const SETTLE_MS = 60_000;
const REST_MS = 30_000;

export function checkBattery({ window, context }: CheckInput): Finding[] {
  const findings: Finding[] = [];
  if (window.regime !== 'off' && runningForMs(context) >= SETTLE_MS) {
    const v = meanOf(window.frames, S.voltage);
    if (v < CHARGING_WARN_V) {
      const critical = v < CHARGING_CRITICAL_V;
      findings.push({
        condition: 'battery.charging',
        kind: 'battery',
        severity: critical ? 'critical' : 'warning',
        title: critical ? 'Battery not being charged' : 'Charging voltage low',
        explanation:
          `Module voltage averaged ${fmt(v, 2)} V over the last 30 s with the engine running; a healthy ` +
          `charging system holds 13.2–14.8 V (alert below ${CHARGING_WARN_V} V). The battery is discharging ` +
          'or weak. Check: battery terminals and ground strap for corrosion, alternator output and drive belt, ' +
          'then load-test the battery.',
        signals: [VOLTAGE, 'engine.rpm'],
        observed: v,
        expected: { min: 13.2, max: 14.8 },
        unit: 'V',
      });
    }
  }
  if (window.regime === 'off' && context.offSince !== null && context.now - context.offSince >= REST_MS) {
    const v = medianOf(window.frames, S.voltage, isOff);
    if (v < RESTING_WARN_V) {
      findings.push({
        condition: 'battery.resting',
        kind: 'battery',
        severity: 'warning',
        title: 'Battery resting voltage low',
        explanation:
          `With the engine off the battery rests at ${fmt(v, 2)} V; a charged battery rests at 12.4–12.7 V ` +
          `(alert below ${RESTING_WARN_V} V, about half charge). Check: parasitic drain, battery age and a load test.`,
        signals: [VOLTAGE],
        observed: v,
        expected: { min: 12.4, max: 12.7 },
        unit: 'V',
      });
    }
  }
  const crank = context.lastCrank;
  if (crank && crank.at >= window.start && crank.at < window.end && crank.minVoltage < CRANKING_WARN_V) {
    findings.push({
      condition: 'battery.cranking',
      kind: 'battery',
      severity: 'warning',
      title: 'Weak cranking voltage',
      explanation:
        `Voltage dipped to ${fmt(crank.minVoltage, 2)} V while the engine was cranked; a healthy battery stays ` +
        `above ${CRANKING_WARN_V} V on this logger. Check: battery state of charge and a load test, starter ` +
        'current draw, cable connections.',
      signals: [VOLTAGE, 'engine.rpm'],
      observed: crank.minVoltage,
      expected: { min: CRANKING_WARN_V },
      unit: 'V',
    });
  }
  return findings;
}
