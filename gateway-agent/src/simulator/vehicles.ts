// Varied simulated cars for the fleet (`npm start`): each gets a make/model/year from the OBDb
// profiles, a VIN that decodes to them (WMI, model-year code, valid check digit), a trouble-code
// scenario, its own ECU latency and a little adapter misbehaviour, and that vehicle's recorded answers.
import path from 'node:path';
import { checkDigit, datasetAvailable, datasetsDir, vehicleProfiles } from '@clutch/firmware-profiles';
import { loadObdbReplay, type ObdbReplay } from './obdb-replay.js';
import type { SimulatorQuirks } from './elm327-simulator.js';

export interface SimulatedVehicle {
  readonly make: string;
  readonly model: string;
  readonly modelYear: number;
  readonly vin: string;
  readonly dtcs: { stored?: string[]; pending?: string[]; permanent?: string[] };
  readonly quirks: SimulatorQuirks;
  readonly ecuLatencyMs: number;
  readonly replay?: ObdbReplay;
}

const ELECTRIC = /(^|-)(EV|Electric|Leaf|Mach-E)(-|$)/i;

const YEAR_CODES = 'ABCDEFGHJKLMNPRSTVWXY123456789';
const SCENARIOS: SimulatedVehicle['dtcs'][] = [
  {},
  {},
  { stored: ['P0301'], permanent: ['P0301'] },
  {},
  { pending: ['P0171'] },
  {},
  { stored: ['P0420'], permanent: ['P0420'] },
  { stored: ['P0128'] },
];

/** A 17-character VIN for the WMI and model year (49 CFR 565: position 7 a letter from 2010 on). */
export function makeVin(wmi: string, modelYear: number, serial: number): string {
  const yearCode = YEAR_CODES[(modelYear - 1980) % 30]!;
  // ISO 3779 VINs never contain I, O or Q (they read like 1 and 0).
  const vds = modelYear >= 2010 ? 'SMLAB' : 'SML1B';
  const plant = 'S';
  const tail = String(serial % 1_000_000).padStart(6, '0');
  const draft = `${wmi}${vds}0${yearCode}${plant}${tail}`;
  return `${draft.slice(0, 8)}${checkDigit(draft)}${draft.slice(9)}`;
}

/** The i-th car of the fleet (1-based), deterministic. */
export function simulatedVehicle(i: number, dir: string = datasetsDir()): SimulatedVehicle {
  // The engine data replays a petrol car (carOBD): battery-electric models would show an EV revving.
  const profiles = vehicleProfiles().filter((p) => p.years && p.wmi.length > 0 && !ELECTRIC.test(p.name));
  const p = profiles[(i - 1) % profiles.length]!;
  const [from, to] = p.years!;
  const modelYear = Math.max(from, to - ((i - 1) % Math.max(1, to - from + 1)));
  const repo = path.join(dir, 'obdb-signalsets', p.name);
  let replay: ObdbReplay | undefined;
  if (datasetAvailable(path.join('obdb-signalsets', p.name), dir)) {
    try {
      replay = loadObdbReplay(repo, modelYear);
    } catch {
      replay = undefined;
    }
  }
  return {
    make: p.make,
    model: p.model,
    modelYear,
    vin: makeVin(p.wmi[0]!, modelYear, 100 + i),
    dtcs: SCENARIOS[(i - 1) % SCENARIOS.length]!,
    quirks: { noDataRate: 0.002 * (i % 3), seed: i },
    ecuLatencyMs: 5 + ((i * 7) % 30),
    ...(replay ? { replay } : {}),
  };
}
