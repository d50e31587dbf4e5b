import { isPlausible, type SignalDefinition } from '@clutch/contracts';
import { FRAME_MS, type Reading } from '../features/frames.js';
import { canonicalUnit, converter } from './units.js';
import { matchColumn } from './columns.js';
import type { ImportedColumn } from './types.js';

/** One source column (or Car Scanner PID) resolved: the signal it feeds and how its values convert. */
export interface ResolvedColumn {
  column: ImportedColumn;
  signal: SignalDefinition | null;
  convert: (value: number) => number;
}

const identity = (v: number): number => v;

/**
 * Resolves a source column: its catalogue signal by name, and its unit converted to the catalogue's.
 * A column whose unit is unknown or cannot become the catalogue's is reported and not imported;
 * a column without a unit is taken in the catalogue's unit, and says so.
 */
export function resolveColumn(source: string, name: string, unit: string | null): ResolvedColumn {
  const match = matchColumn(name);
  if (match.signal === null)
    return { column: { source, signal: null, unit, note: match.note }, signal: null, convert: identity };
  const signal = match.signal;
  if (unit === null || unit.trim() === '') {
    return {
      column: {
        source,
        signal: signal.key,
        unit: signal.unit,
        note: `no unit in the file; read as ${signal.unit || 'a plain number'}`,
      },
      signal,
      convert: identity,
    };
  }
  const canonical = canonicalUnit(unit);
  if (canonical === null) {
    return {
      column: { source, signal: null, unit, note: `unit ${unit} is not one we can convert` },
      signal: null,
      convert: identity,
    };
  }
  const convert = converter(canonical, signal.unit);
  if (!convert) {
    return {
      column: {
        source,
        signal: null,
        unit,
        note: `unit ${unit} cannot be converted to ${signal.key}'s ${signal.unit || 'plain number'}`,
      },
      signal: null,
      convert: identity,
    };
  }
  return { column: { source, signal: signal.key, unit }, signal, convert };
}

/**
 * Gathers readings in catalogue units, keeping the latest value per signal per FRAME_MS (the
 * resolution the scorer works at): loggers that repeat every signal on each row (OBD Auto Doctor
 * about 11 rows a second) would otherwise store ten copies of one measurement. Values outside the
 * signal's SAE J1979 range are dropped and counted (ingest would refuse them too).
 */
export function createCollector(): {
  add(signal: SignalDefinition, time: number, value: number): void;
  readings(): Reading[];
  implausible: Map<string, number>;
} {
  const out: Reading[] = [];
  const lastBucket = new Map<string, { bucket: number; index: number }>();
  const implausible = new Map<string, number>();
  let ordered = true;
  let lastTime = Number.NEGATIVE_INFINITY;
  return {
    implausible,
    add(signal, time, value) {
      if (!isPlausible(signal, value)) {
        implausible.set(signal.key, (implausible.get(signal.key) ?? 0) + 1);
        return;
      }
      const bucket = Math.floor(time / FRAME_MS);
      const last = lastBucket.get(signal.key);
      if (last && last.bucket === bucket) {
        out[last.index] = { signal: signal.key, time, value };
        return;
      }
      if (time < lastTime) ordered = false;
      lastTime = Math.max(lastTime, time);
      lastBucket.set(signal.key, { bucket, index: out.length });
      out.push({ signal: signal.key, time, value });
    },
    readings() {
      return ordered ? out : [...out].sort((a, b) => (a.time as number) - (b.time as number));
    },
  };
}
