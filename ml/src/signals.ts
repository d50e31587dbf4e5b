import { signalByKey, type SignalDefinition } from '@clutch/contracts';

/**
 * The catalogue signals the ML package reads, in the fixed order used by frames and feature
 * vectors. Keys come from the shared catalogue so units cannot drift from the rest of Clutch.
 */
export const FEATURE_SIGNALS = [
  'engine.rpm',
  'vehicle.speed',
  'engine.load',
  'engine.coolant_temp',
  'intake.air_temp',
  'fuel.trim.short_term_b1',
  'fuel.trim.long_term_b1',
  'intake.manifold_pressure',
  'throttle.position',
  'catalyst.temp_b1s1',
  'ecu.control_module_voltage',
] as const;

export type FeatureSignal = (typeof FEATURE_SIGNALS)[number];

/** Index of each signal inside a frame's value array. */
export const S = {
  rpm: 0,
  speed: 1,
  load: 2,
  coolant: 3,
  iat: 4,
  stft: 5,
  ltft: 6,
  map: 7,
  throttle: 8,
  catalyst: 9,
  voltage: 10,
} as const;

export const SIGNAL_COUNT = FEATURE_SIGNALS.length;

const definitions: SignalDefinition[] = FEATURE_SIGNALS.map((key) => {
  const def = signalByKey(key);
  // Failing at import is deliberate: a renamed catalogue key must break the build's tests, not
  // silently drop a signal from every model.
  if (!def) throw new Error(`signal ${key} is missing from the catalogue`);
  return def;
});

export function signalDefinition(index: number): SignalDefinition {
  const def = definitions[index];
  if (!def) throw new Error(`no feature signal at index ${index}`);
  return def;
}

const indexByKey = new Map<string, number>(FEATURE_SIGNALS.map((k, i) => [k, i]));

export function featureIndex(key: string): number | undefined {
  return indexByKey.get(key);
}

/** "Engine coolant temperature 104 °C" style formatting used in explanations. */
export function formatValue(index: number, value: number): string {
  const def = signalDefinition(index);
  const digits = def.unit === 'V' ? 2 : Math.abs(value) < 10 ? 1 : 0;
  const unit = def.unit === '' ? '' : def.unit === '%' || def.unit === '°C' ? def.unit : ` ${def.unit}`;
  return `${value.toFixed(digits)}${unit}`;
}
