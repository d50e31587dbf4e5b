import { SIGNALS } from './catalogue.generated.js';
import type { SignalDefinition } from './types.js';
import { VEHICLE_SIGNALS } from './vehicle-catalogue.generated.js';

/** Keys of the SAE J1979 and adapter signals (vehicle-specific keys are `vehicle.<obdb id lower>`). */
export type SignalKey = (typeof SIGNALS)[number]['key'];

/** SAE J1979 Mode 01 signals and adapter readings (ids below 10000): what every car can be asked. */
export const saeSignals: readonly SignalDefinition[] = SIGNALS;

/** Vehicle-specific signals (Mode 21/22 of the OBDb vehicle profiles; ids from 10000), generated. */
export const vehicleSignals: readonly SignalDefinition[] = VEHICLE_SIGNALS;

/**
 * Every signal Clutch can store: the SAE ones first, then the vehicle-specific ones. Code that means
 * "what any car answers" (a Mode 01 poll plan, ML features) wants `saeSignals` instead.
 */
export const signalCatalogue: readonly SignalDefinition[] = [...SIGNALS, ...VEHICLE_SIGNALS];

const byKey = new Map<string, SignalDefinition>(signalCatalogue.map((s) => [s.key, s]));
const byId = new Map<number, SignalDefinition>(signalCatalogue.map((s) => [s.id, s]));
const byObdb = new Map<string, SignalDefinition>(
  signalCatalogue.flatMap((s): [string, SignalDefinition][] => (s.obdb !== undefined ? [[s.obdb, s]] : [])),
);
const byProfile = new Map<string, SignalDefinition[]>();
for (const s of VEHICLE_SIGNALS) {
  if (s.profile === undefined) continue;
  const list = byProfile.get(s.profile) ?? [];
  list.push(s);
  byProfile.set(s.profile, list);
}

export function signalByKey(key: string): SignalDefinition | undefined {
  return byKey.get(key);
}

export function signalById(id: number): SignalDefinition | undefined {
  return byId.get(id);
}

/**
 * The catalogue entry for an OBDb signal id: an SAEJ1979 one (e.g. 'RPM') or a vehicle profile's
 * (e.g. 'CAMRY_12V_V'; OBDb prefixes those with the vehicle, so the two never collide).
 */
export function signalByObdbId(obdbId: string): SignalDefinition | undefined {
  return byObdb.get(obdbId);
}

/** True for a signal read from a vehicle profile rather than SAE J1979 or the adapter. */
export function isVehicleSignal(signal: SignalDefinition): boolean {
  return signal.profile !== undefined;
}

/** The vehicle-specific signals of one OBDb vehicle profile (e.g. 'Toyota-Camry'); empty when unknown. */
export function signalsForProfile(profile: string): readonly SignalDefinition[] {
  return byProfile.get(profile) ?? [];
}

/** The OBDb vehicle profiles that contribute vehicle-specific signals. */
export function signalProfiles(): readonly string[] {
  return [...byProfile.keys()];
}

/** True when the value lies in the signal's encodable range (inclusive). */
export function isPlausible(signal: SignalDefinition, value: number): boolean {
  return Number.isFinite(value) && value >= signal.min && value <= signal.max;
}
