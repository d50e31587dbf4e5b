/**
 * Units as apps write them, and conversion to the catalogue's (SAE J1979) units. Apps let the user
 * pick °F, mph, psi or inHg; the catalogue stores °C, km/h and kPa, so every imported value goes
 * through here. Only exact, physical conversions: a unit we cannot convert is reported, never guessed.
 */

/** The canonical spelling of a unit written by an app, or null when we do not know it. */
export function canonicalUnit(raw: string): string | null {
  // Mojibake of UTF-8 read as Latin-1 (OBD Auto Doctor exports opened in Windows tools: `Â°C`).
  const u = raw.replace(/Â/g, '').replace(/\s+/g, ' ').trim();
  const lower = u.toLowerCase();
  return UNIT_ALIASES[lower] ?? null;
}

const UNIT_ALIASES: Record<string, string> = {
  '°c': '°C',
  '℃': '°C',
  c: '°C',
  degc: '°C',
  'deg c': '°C',
  celsius: '°C',
  '°f': '°F',
  '℉': '°F',
  f: '°F',
  degf: '°F',
  'deg f': '°F',
  fahrenheit: '°F',
  k: 'K',
  'km/h': 'km/h',
  kmh: 'km/h',
  kph: 'km/h',
  'km/hr': 'km/h',
  mph: 'mph',
  'mi/h': 'mph',
  'm/s': 'm/s',
  'meters/second': 'm/s',
  kpa: 'kPa',
  psi: 'psi',
  inhg: 'inHg',
  'in hg': 'inHg',
  bar: 'bar',
  mbar: 'hPa',
  hpa: 'hPa',
  pa: 'Pa',
  mmhg: 'mmHg',
  rpm: 'rpm',
  'r/min': 'rpm',
  '1/min': 'rpm',
  '%': '%',
  v: 'V',
  volt: 'V',
  volts: 'V',
  mv: 'mV',
  'g/s': 'g/s',
  'g/sec': 'g/s',
  'lb/min': 'lb/min',
  'kg/h': 'kg/h',
  'l/h': 'L/h',
  'l/hr': 'L/h',
  'gal/hr': 'gal/h',
  'gal/h': 'gal/h',
  km: 'km',
  mi: 'mi',
  miles: 'mi',
  s: 's',
  sec: 's',
  secs: 's',
  seconds: 's',
  min: 'min',
  mins: 'min',
  minutes: 'min',
  '°': '°',
  deg: '°',
  degrees: '°',
  lambda: '',
  ratio: '',
  '': '',
};

/** factor and offset: catalogue value = raw × factor + offset. */
type Linear = readonly [factor: number, offset: number];

/** Conversions into each catalogue unit (NIST SP 811 factors). */
const TO_CATALOGUE: Record<string, Record<string, Linear>> = {
  '°C': { '°C': [1, 0], '°F': [5 / 9, -32 * (5 / 9)], K: [1, -273.15] },
  'km/h': { 'km/h': [1, 0], mph: [1.609344, 0], 'm/s': [3.6, 0] },
  kPa: {
    kPa: [1, 0],
    psi: [6.894757293168, 0],
    inHg: [3.386389, 0],
    bar: [100, 0],
    hPa: [0.1, 0],
    Pa: [0.001, 0],
    mmHg: [0.1333224, 0],
  },
  rpm: { rpm: [1, 0] },
  '%': { '%': [1, 0] },
  V: { V: [1, 0], mV: [0.001, 0] },
  'g/s': { 'g/s': [1, 0], 'lb/min': [7.559873, 0], 'kg/h': [1 / 3.6, 0] },
  'L/h': { 'L/h': [1, 0], 'gal/h': [3.785411784, 0] },
  km: { km: [1, 0], mi: [1.609344, 0] },
  s: { s: [1, 0], min: [60, 0] },
  min: { min: [1, 0], s: [1 / 60, 0] },
  '°': { '°': [1, 0] },
  '': { '': [1, 0] },
};

/** A converter from `from` (canonical) into the catalogue unit `to`, or null when there is none. */
export function converter(from: string, to: string): ((value: number) => number) | null {
  const linear = TO_CATALOGUE[to]?.[from];
  if (!linear) return null;
  const [factor, offset] = linear;
  return factor === 1 && offset === 0 ? (v) => v : (v) => v * factor + offset;
}
