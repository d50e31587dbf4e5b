// Picks the firmware profile for a car: VIN (WMI + model year) narrows to a make's vehicles, the car's
// own supported-PID answers pick the closest one; no match falls back to SAE J1979 and the PIDs the
// car says it supports (DESIGN §5 "Init").
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSignalsetFile, sae1979Signalset } from './loader.js';
import type { Signalset } from './types.js';
import { decodeVin } from './vin.js';

const DIR = fileURLToPath(new URL('../profiles/vehicles/', import.meta.url));

export interface VehicleProfileEntry {
  readonly name: string;
  readonly make: string;
  readonly model: string;
  readonly wmi: readonly string[];
  readonly years: readonly [number, number] | null;
  readonly signalsets: Readonly<Record<string, string>>;
  readonly supportedMode01ByYear: Readonly<Record<string, readonly string[]>>;
}

export interface ProfileChoice {
  /** 'SAEJ1979' or an OBDb vehicle name such as 'Toyota-Camry'. */
  readonly name: string;
  readonly signalset: Signalset;
  readonly modelYear?: number;
  /** Why this profile: shown in logs and `clutch-agent read`. */
  readonly reason: string;
}

let index: VehicleProfileEntry[] | undefined;

export function vehicleProfiles(): readonly VehicleProfileEntry[] {
  index ??= (JSON.parse(readFileSync(`${DIR}index.json`, 'utf8')) as { vehicles: VehicleProfileEntry[] }).vehicles;
  return index;
}

/** The narrowest `YYYY-YYYY` signalset covering the year, else `default`. */
function signalsetFor(entry: VehicleProfileEntry, year: number | undefined): Signalset {
  let best: [string, number] | undefined;
  for (const key of Object.keys(entry.signalsets)) {
    const m = /^(\d{4})-(\d{4})$/.exec(key);
    if (!m || year === undefined) continue;
    const [from, to] = [Number(m[1]), Number(m[2])];
    if (year >= from && year <= to && (!best || to - from < best[1])) best = [key, to - from];
  }
  const file = entry.signalsets[best?.[0] ?? 'default'] ?? Object.values(entry.signalsets)[0]!;
  return loadSignalsetFile(`${DIR}${file}`);
}

/** Jaccard similarity of the car's Mode 01 answers and a profile's captured ones for the nearest year. */
function pidSimilarity(entry: VehicleProfileEntry, year: number | undefined, supported: ReadonlySet<string>): number {
  const years = Object.keys(entry.supportedMode01ByYear).map(Number);
  if (years.length === 0 || supported.size === 0) return 0;
  const target = year ?? years[years.length - 1]!;
  const nearest = years.reduce((a, b) => (Math.abs(b - target) < Math.abs(a - target) ? b : a));
  const theirs = new Set(entry.supportedMode01ByYear[String(nearest)] ?? []);
  let both = 0;
  for (const p of supported) if (theirs.has(p)) both++;
  return both / (supported.size + theirs.size - both);
}

export function selectProfile(
  vin: string | undefined,
  supportedPids: Iterable<number> = [],
  now?: Date,
): ProfileChoice {
  const supported = new Set([...supportedPids].map((p) => p.toString(16).toUpperCase().padStart(2, '0')));
  const decoded = vin ? decodeVin(vin, now) : undefined;
  const fallback = (reason: string): ProfileChoice => ({
    name: 'SAEJ1979',
    signalset: sae1979Signalset(),
    ...(decoded?.modelYear ? { modelYear: decoded.modelYear } : {}),
    reason,
  });
  if (!decoded)
    return fallback(
      vin ? `VIN ${JSON.stringify(vin)} is not a valid 17-character VIN` : 'no VIN (Mode 09 PID 02 unanswered)',
    );
  const year = decoded.modelYear;
  const byMake = vehicleProfiles().filter((v) => v.wmi.includes(decoded.wmi));
  if (byMake.length === 0) return fallback(`no profile for WMI ${decoded.wmi}`);
  const inYears = byMake.filter((v) => !v.years || year === undefined || (year >= v.years[0] && year <= v.years[1]));
  if (inYears.length === 0) return fallback(`no ${byMake[0]!.make} profile covers model year ${year}`);
  const ranked = inYears
    .map((v) => ({ v, score: pidSimilarity(v, year, supported) }))
    .sort((a, b) => b.score - a.score);
  const best = ranked[0]!;
  // A make with several models needs the car's PID answers to tell them apart; too weak a match is a guess.
  if (inYears.length > 1 && best.score < 0.5)
    return fallback(
      `${inYears.length} ${best.v.make} profiles, none matches the supported PIDs (best ${best.v.name} ${best.score.toFixed(2)})`,
    );
  return {
    name: best.v.name,
    signalset: signalsetFor(best.v, year),
    ...(year ? { modelYear: year } : {}),
    reason: `WMI ${decoded.wmi}, model year ${year ?? '?'}${inYears.length > 1 ? `, supported PIDs match ${best.score.toFixed(2)}` : ''}`,
  };
}
