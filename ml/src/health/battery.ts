import { S } from '../signals.js';
import { runningForMs } from '../features/context.js';
import { REST_MS, SETTLE_MS } from '../normal/learn.js';
import { sketchQuantile } from '../normal/sketch.js';
import type { CheckInput, Finding } from './types.js';
import { fmt, isOff, meanOf, medianOf } from './window-stats.js';

const VOLTAGE = 'ecu.control_module_voltage';
/**
 * Universal limits (any 12 V car): a running engine's module voltage below 11.8 V means the
 * battery is discharging (smart alternators may idle the charge down to ~12.3 V, never below
 * rest); a rested battery below 11.8 V is under a quarter charged; a start dipping below 6 V
 * drops out most control units.
 */
export const UNIVERSAL_CHARGING_V = 11.8;
export const UNIVERSAL_RESTING_V = 11.8;
export const UNIVERSAL_CRANKING_V = 6.0;
/** Per vehicle: this far below the lowest the car itself showed (charging and rest, V). */
export const CHARGING_MARGIN_V = 0.5;
export const RESTING_MARGIN_V = 0.4;
/** Starts vary most (temperature, how long the starter turns): a wide margin below the weakest seen. */
export const CRANKING_MARGIN_V = 2.5;

export function checkBattery({ window, context, normal, ready }: CheckInput): Finding[] {
  const findings: Finding[] = [];
  if (window.regime !== 'off' && runningForMs(context) >= SETTLE_MS) {
    const v = meanOf(window.frames, S.voltage);
    const own = ready('battery.charging');
    const low = sketchQuantile(normal.chargingV, 0.001);
    const typical = sketchQuantile(normal.chargingV, 0.5);
    const limit = own ? Math.max(UNIVERSAL_CHARGING_V, low - CHARGING_MARGIN_V) : UNIVERSAL_CHARGING_V;
    if (v < limit) {
      const critical = v < UNIVERSAL_CHARGING_V;
      const band = own
        ? `this car's charging system normally holds ${fmt(low, 2)}–${fmt(sketchQuantile(normal.chargingV, 0.999), 2)} V ` +
          `(typically ${fmt(typical, 2)} V; alert below ${fmt(limit, 2)} V)`
        : `below ${UNIVERSAL_CHARGING_V} V no charging system is charging`;
      findings.push({
        condition: 'battery.charging',
        kind: 'battery',
        severity: critical ? 'critical' : 'warning',
        title: critical ? 'Battery not being charged' : 'Charging voltage low',
        explanation:
          `Module voltage averaged ${fmt(v, 2)} V over the last 30 s with the engine running; ${band}. The battery ` +
          'is discharging or weak. Check: battery terminals and ground strap for corrosion, alternator output and ' +
          'drive belt, then load-test the battery.',
        signals: [VOLTAGE, 'engine.rpm'],
        observed: v,
        expected: own ? { min: low } : { min: UNIVERSAL_CHARGING_V },
        unit: 'V',
        tier: own ? 'vehicle' : 'universal',
      });
    }
  }
  if (window.regime === 'off' && context.offSince !== null && context.now - context.offSince >= REST_MS) {
    const v = medianOf(window.frames, S.voltage, isOff);
    const own = ready('battery.resting');
    const low = sketchQuantile(normal.restV, 0.01);
    const limit = own ? Math.max(UNIVERSAL_RESTING_V, low - RESTING_MARGIN_V) : UNIVERSAL_RESTING_V;
    if (v < limit) {
      findings.push({
        condition: 'battery.resting',
        kind: 'battery',
        severity: 'warning',
        title: 'Battery resting voltage low',
        explanation:
          `With the engine off the battery rests at ${fmt(v, 2)} V; ` +
          (own
            ? `this car's battery normally rests at ${fmt(low, 2)}–${fmt(sketchQuantile(normal.restV, 0.99), 2)} V (alert below ${fmt(limit, 2)} V). `
            : `a charged battery rests at 12.4–12.7 V (alert below ${UNIVERSAL_RESTING_V} V). `) +
          'Check: parasitic drain, battery age and a load test.',
        signals: [VOLTAGE],
        observed: v,
        expected: { min: own ? low : 12.4 },
        unit: 'V',
        tier: own ? 'vehicle' : 'universal',
      });
    }
  }
  const crank = context.lastCrank;
  if (crank && crank.at >= window.start && crank.at < window.end && Number.isFinite(crank.minVoltage)) {
    const own = ready('battery.cranking');
    const low = sketchQuantile(normal.crankV, 0);
    const limit = own ? Math.max(UNIVERSAL_CRANKING_V, low - CRANKING_MARGIN_V) : UNIVERSAL_CRANKING_V;
    if (crank.minVoltage < limit) {
      findings.push({
        condition: 'battery.cranking',
        kind: 'battery',
        severity: 'warning',
        title: 'Weak cranking voltage',
        explanation:
          `Voltage dipped to ${fmt(crank.minVoltage, 2)} V while the engine was cranked; ` +
          (own
            ? `this car's starts normally dip no lower than ${fmt(low, 2)} V (alert below ${fmt(limit, 2)} V). `
            : `below ${UNIVERSAL_CRANKING_V} V control units drop out. `) +
          'Check: battery state of charge and a load test, starter current draw, cable connections.',
        signals: [VOLTAGE, 'engine.rpm'],
        observed: crank.minVoltage,
        expected: { min: limit },
        unit: 'V',
        tier: own ? 'vehicle' : 'universal',
      });
    }
  }
  return findings;
}
