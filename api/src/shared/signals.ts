import { signalByKey, type SignalDefinition } from '@clutch/contracts';
import { apiError } from '../errors.js';

/** The catalogue entry of a signal key, or SIGNAL_UNKNOWN (a 400 naming the key). */
export function resolveSignal(key: string): SignalDefinition {
  const signal = signalByKey(key);
  if (!signal) throw apiError('SIGNAL_UNKNOWN', `Unknown signal "${key}"; see GET /api/signals`, { signal: key });
  return signal;
}
