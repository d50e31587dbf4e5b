import { SIGNALS } from './catalogue.generated.js';
import type { SignalDefinition } from './types.js';

export type SignalKey = (typeof SIGNALS)[number]['key'];

const byKey = new Map<string, SignalDefinition>(SIGNALS.map((s) => [s.key, s]));
const byId = new Map<number, SignalDefinition>(SIGNALS.map((s) => [s.id, s]));
const byObdb = new Map<string, SignalDefinition>(
  SIGNALS.flatMap((s): [string, SignalDefinition][] => ('obdb' in s ? [[s.obdb, s]] : [])),
);

export const signalCatalogue: readonly SignalDefinition[] = SIGNALS;

export function signalByKey(key: string): SignalDefinition | undefined {
  return byKey.get(key);
}

export function signalById(id: number): SignalDefinition | undefined {
  return byId.get(id);
}

/** The catalogue entry for an OBDb SAEJ1979 signal id (e.g. 'RPM'), if we track it. */
export function signalByObdbId(obdbId: string): SignalDefinition | undefined {
  return byObdb.get(obdbId);
}

/** True when the value lies in the signal's encodable range (inclusive). */
export function isPlausible(signal: SignalDefinition, value: number): boolean {
  return Number.isFinite(value) && value >= signal.min && value <= signal.max;
}
