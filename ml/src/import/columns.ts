import { saeSignals, signalByKey, type SignalDefinition } from '@clutch/contracts';

/**
 * Which catalogue signal an app's column (or Car Scanner PID name) is. Names are compared
 * normalised (lower case, words only), first against the names the apps use, then against the
 * catalogue's own SAE J1979 names (OBD Auto Doctor writes those). A GPS or computed value is never
 * taken for the OBD one it resembles ("Speed (GPS)" is not vehicle.speed).
 */

export function normaliseName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** App names of each catalogue signal (Torque Pro, Car Scanner, OBD Auto Doctor spellings), normalised at load. */
const APP_NAMES: Record<string, readonly string[]> = {
  'engine.rpm': ['Engine RPM', 'RPM', 'Engine speed'],
  'vehicle.speed': ['Speed (OBD)', 'Vehicle speed', 'Vehicle Speed Sensor', 'Speed'],
  'engine.load': ['Engine Load', 'Calculated engine load value', 'Calculated engine load', 'Calculated load value'],
  'engine.coolant_temp': ['Engine Coolant Temperature', 'Coolant temperature', 'Engine coolant temp'],
  'intake.air_temp': ['Intake Air Temperature', 'Intake air temp'],
  'intake.manifold_pressure': [
    'Intake Manifold Pressure',
    'Intake manifold absolute pressure',
    'Intake Manifold Absolute Pressure',
    'MAP',
  ],
  'fuel.trim.short_term_b1': [
    'Fuel Trim Bank 1 Short Term',
    'Short term fuel % trim - Bank 1',
    'Short term fuel trim - Bank 1',
    'Short Term Fuel Trim Bank 1',
    'Short term fuel trim (bank 1)',
  ],
  'fuel.trim.long_term_b1': [
    'Fuel Trim Bank 1 Long Term',
    'Long term fuel % trim - Bank 1',
    'Long term fuel trim - Bank 1',
    'Long Term Fuel Trim Bank 1',
    'Long term fuel trim (bank 1)',
  ],
  'fuel.trim.short_term_b2': [
    'Fuel Trim Bank 2 Short Term',
    'Short term fuel % trim - Bank 2',
    'Short Term Fuel Trim Bank 2',
  ],
  'fuel.trim.long_term_b2': [
    'Fuel Trim Bank 2 Long Term',
    'Long term fuel % trim - Bank 2',
    'Long Term Fuel Trim Bank 2',
  ],
  'throttle.position': [
    'Throttle Position',
    'Throttle Position(Manifold)',
    'Absolute Throttle Position',
    'Throttle position',
  ],
  'throttle.relative_position': ['Relative Throttle Position', 'Relative throttle position'],
  'catalyst.temp_b1s1': [
    'Catalyst Temperature (Bank 1 Sensor 1)',
    'Catalyst temperature Bank 1 Sensor 1',
    'Catalyst Temperature Bank 1, Sensor 1',
    'Catalyst temp B1S1',
  ],
  'catalyst.temp_b1s2': [
    'Catalyst Temperature (Bank 1 Sensor 2)',
    'Catalyst temperature Bank 1 Sensor 2',
    'Catalyst Temperature Bank 1, Sensor 2',
    'Catalyst temp B1S2',
  ],
  'ecu.control_module_voltage': [
    'Voltage (Control Module)',
    'Control module voltage',
    'Control Module Voltage',
    'ECU voltage',
  ],
  'battery.voltage': ['Voltage (OBD Adapter)', 'OBD adapter voltage', 'Adapter voltage', 'Battery voltage'],
  'intake.maf_rate': [
    'Mass Air Flow Rate',
    'MAF air flow rate',
    'Air Flow Rate from Mass Flow Sensor',
    'Mass air flow',
    'MAF',
  ],
  'engine.timing_advance': ['Timing Advance', 'Timing advance'],
  'ambient.barometric_pressure': [
    'Barometric pressure (from vehicle)',
    'Barometric pressure',
    'Absolute Barometric Pressure',
  ],
  'ambient.air_temp': ['Ambient air temp', 'Ambient air temperature', 'Ambient Air Temperature'],
  'engine.oil_temp': ['Engine Oil Temperature', 'Engine oil temperature'],
  'fuel.level': ['Fuel Level (From Engine ECU)', 'Fuel level', 'Fuel Tank Level Input', 'Fuel tank level'],
  'fuel.rate': ['Engine fuel rate', 'Fuel rate'],
  'pedal.position_d': ['Accelerator PedalPosition D', 'Accelerator Pedal Position D'],
  'pedal.position_e': ['Accelerator PedalPosition E', 'Accelerator Pedal Position E'],
  'throttle.commanded_actuator': ['Commanded Throttle Actuator', 'Commanded throttle actuator control'],
  'fuel.commanded_equivalence_ratio': [
    'Commanded Equivalence Ratio',
    'Fuel/Air commanded equivalence ratio',
    'Commanded equivalence ratio',
  ],
  'engine.run_time': ['Run time since engine start', 'Time since engine start', 'Engine run time'],
};

/** Words that mark a value as not the ECU's own reading (a GPS fix, a phone sensor, a computed figure). */
const NOT_OBD = /\b(gps|average|avg|trip|max|min|computed|calculated boost|instant|per|x1000)\b/;

const byName = new Map<string, SignalDefinition>();
for (const [key, names] of Object.entries(APP_NAMES)) {
  const signal = signalByKey(key);
  // Failing at import is deliberate: a renamed catalogue key must break the tests, not drop a column.
  if (!signal) throw new Error(`import column table names ${key}, which is not in the signal catalogue`);
  for (const n of names) byName.set(normaliseName(n), signal);
}
// The catalogue's own names last: an app's spelling above wins over a coincidence here.
for (const signal of saeSignals) {
  const n = normaliseName(signal.name);
  if (!byName.has(n)) byName.set(n, signal);
}

export type ColumnMatch = { signal: SignalDefinition } | { signal: null; note: string };

/** The catalogue signal an app calls `name` (without its unit), or why it is not imported. */
export function matchColumn(name: string): ColumnMatch {
  const n = normaliseName(name);
  if (n === '') return { signal: null, note: 'no column name' };
  const signal = byName.get(n);
  if (signal) return { signal };
  if (NOT_OBD.test(n)) return { signal: null, note: 'not an OBD reading (GPS, phone or computed value)' };
  return { signal: null, note: 'no catalogue signal with this name' };
}

/**
 * Splits a header into name and unit: `Engine RPM(rpm)` and `Speed (OBD)(km/h)` (Torque: the unit in
 * the last parentheses), `Engine RPM [RPM]` (OBD Auto Doctor). Parentheses that are part of the name
 * (`Speed (OBD)`, `Voltage (Control Module)`) stay when a last group follows them or when they are
 * no unit we know.
 */
export function splitHeader(header: string, isUnit: (u: string) => boolean): { name: string; unit: string | null } {
  const h = header.trim();
  const bracket = /^(.*?)\s*\[([^\]]*)\]\s*$/.exec(h);
  if (bracket) return { name: bracket[1]!.trim(), unit: bracket[2]!.trim() };
  const paren = /^(.*?)\s*\(([^()]*)\)\s*$/.exec(h);
  if (paren && (isUnit(paren[2]!) || /\)\s*\([^()]*\)\s*$/.test(h)))
    return { name: paren[1]!.trim(), unit: paren[2]!.trim() };
  return { name: h, unit: null };
}
