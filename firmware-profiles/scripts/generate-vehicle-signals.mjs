#!/usr/bin/env node
// Generates contracts/src/signals/vehicle-catalogue.generated.ts: one catalogue entry for every
// vehicle-specific (non-Mode-01) signal of every OBDb vehicle profile in profiles/vehicles/.
// Ids are stored in the database, so they come from contracts/vehicle-signal-ids.json, which this
// script only ever appends to (a signal that leaves a profile keeps its id reserved).
// The output is an adaptation of OBDb data and stays CC BY-SA 4.0 (firmware-profiles/NOTICE.md).
//
// usage: node firmware-profiles/scripts/generate-vehicle-signals.mjs           writes both files
//        node firmware-profiles/scripts/generate-vehicle-signals.mjs --json    prints the entries, writes nothing;
//                                                                               exits 1 if a signal has no id yet
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const profilesDir = path.join(root, 'firmware-profiles', 'profiles', 'vehicles');
const idsFile = path.join(root, 'contracts', 'vehicle-signal-ids.json');
const saeFile = path.join(root, 'contracts', 'signal-catalogue.json');
const outFile = path.join(root, 'contracts', 'src', 'signals', 'vehicle-catalogue.generated.ts');

/** First id of the vehicle-specific range: SAE and adapter signals stay below it. */
const FIRST_ID = 10000;
/** signals.id is a smallint. */
const LAST_ID = 32767;

// OBDb unit names (github.com/OBDb `.schemas`) -> the symbols the catalogue uses.
const UNITS = {
  percent: '%',
  celsius: '°C',
  fahrenheit: '°F',
  kilopascal: 'kPa',
  psi: 'psi',
  bars: 'bar',
  rpm: 'rpm',
  kilometersPerHour: 'km/h',
  milesPerHour: 'mph',
  metersPerSecondSquared: 'm/s²',
  gravity: 'g',
  degrees: '°',
  hours: 'h',
  minutes: 'min',
  seconds: 's',
  milliseconds: 'ms',
  kilometers: 'km',
  miles: 'mi',
  centimeters: 'cm',
  millimeters: 'mm',
  liters: 'L',
  volts: 'V',
  millivolts: 'mV',
  amps: 'A',
  milliamps: 'mA',
  ampereHours: 'Ah',
  watts: 'W',
  kilowatts: 'kW',
  kilowattHours: 'kWh',
  kiloohms: 'kΩ',
  hertz: 'Hz',
  newtonMeters: 'N·m',
  gramsPerSecond: 'g/s',
  scalar: '',
  unknown: '',
};
/** Two-state units: the value is 0 or 1 and the dashboard words it. */
const STATES = new Set(['offon', 'onoff', 'noyes']);

/**
 * The range a value can take once the agent's decoder (gateway-agent/src/obd/decoder.ts) is done:
 * clamped to [min, max] when the format declares a max above its min (min defaults to 0), otherwise
 * everything the raw field can encode. Enumerations publish their raw code, so their range is the codes.
 */
function valueRange(fmt) {
  if (fmt.map) {
    const codes = Object.keys(fmt.map).map(Number);
    return [Math.min(...codes), Math.max(...codes)];
  }
  const min = fmt.min ?? 0;
  if (fmt.max !== undefined && fmt.max > min) return [min, fmt.max];
  const rawLow = fmt.sign ? -(2 ** (fmt.len - 1)) : 0;
  const rawHigh = fmt.sign ? 2 ** (fmt.len - 1) - 1 : 2 ** fmt.len - 1;
  const scale = (raw) => (raw * (fmt.mul ?? 1)) / (fmt.div ?? 1) + (fmt.add ?? 0);
  const ends = [scale(rawLow), scale(rawHigh)];
  return [Math.min(...ends), Math.max(...ends)];
}

function unitOf(profile, signal) {
  const fmt = signal.fmt;
  if (fmt.map) return '';
  if (fmt.unit === undefined) return '';
  if (STATES.has(fmt.unit)) return '';
  const unit = UNITS[fmt.unit];
  if (unit === undefined) throw new Error(`${profile} ${signal.id}: unknown OBDb unit ${fmt.unit}`);
  return unit;
}

/** Reads every vehicle profile: [{ profile, command, signal }] of its non-Mode-01 signals, in file order. */
export function vehicleProfileSignals() {
  const index = JSON.parse(readFileSync(path.join(profilesDir, 'index.json'), 'utf8'));
  const found = [];
  for (const vehicle of index.vehicles) {
    const file = vehicle.signalsets.default ?? Object.values(vehicle.signalsets)[0];
    const set = JSON.parse(readFileSync(path.join(profilesDir, file), 'utf8'));
    for (const command of set.commands) {
      const [service] = Object.keys(command.cmd);
      if (service === '01') continue;
      for (const signal of command.signals)
        found.push({ profile: vehicle.name, license: set.$license, command, signal });
    }
  }
  return found;
}

/** The catalogue entries, with the ids the assignment holds; `missing` lists the OBDb ids that have none. */
export function buildVehicleSignals(assignments) {
  const saeKeys = new Set(JSON.parse(readFileSync(saeFile, 'utf8')).signals.map((s) => s.key));
  const keys = new Set();
  const missing = [];
  const entries = [];
  for (const { profile, command, signal } of vehicleProfileSignals()) {
    const [[service, pid]] = Object.entries(command.cmd);
    const key = `vehicle.${signal.id.toLowerCase()}`;
    if (keys.has(key) || saeKeys.has(key)) throw new Error(`${profile} ${signal.id}: key ${key} is taken`);
    keys.add(key);
    const id = assignments[signal.id];
    if (id === undefined) {
      missing.push(signal.id);
      continue;
    }
    const [min, max] = valueRange(signal.fmt);
    const entry = {
      id,
      key,
      name: signal.name,
      source: 'obd',
      obdb: signal.id,
      service,
      pid,
      ...(command.hdr ? { header: command.hdr } : {}),
      profile,
      unit: unitOf(profile, signal),
      min,
      max,
      ...(command.freq !== undefined ? { pollSeconds: command.freq } : {}),
    };
    if (signal.fmt.map) {
      entry.values = Object.fromEntries(
        Object.entries(signal.fmt.map).map(([code, v]) => [code, v.description ?? v.value]),
      );
    } else if (STATES.has(signal.fmt.unit)) {
      entry.states = signal.fmt.unit;
    }
    entries.push(entry);
  }
  return { entries, missing };
}

function readAssignments() {
  return JSON.parse(readFileSync(idsFile, 'utf8')).ids;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const assignments = readAssignments();
  if (process.argv.includes('--json')) {
    const { entries, missing } = buildVehicleSignals(assignments);
    if (missing.length) {
      console.error(`no id assigned yet (run the generator): ${missing.join(', ')}`);
      process.exit(1);
    }
    process.stdout.write(JSON.stringify(entries));
  } else {
    // Append ids for new signals only, never renumber: ids are stored in the database.
    let next = Math.max(FIRST_ID - 1, ...Object.values(assignments)) + 1;
    for (const id of buildVehicleSignals(assignments).missing) assignments[id] = next++;
    if (next - 1 > LAST_ID) throw new Error(`vehicle signal ids ran past ${LAST_ID}`);
    writeFileSync(
      idsFile,
      `${JSON.stringify(
        {
          $comment:
            'Stable ids of the vehicle-specific signals (OBDb signal id -> catalogue id), written by firmware-profiles/scripts/generate-vehicle-signals.mjs, which only appends. Ids are stored in the database: never renumber or reuse one.',
          ids: assignments,
        },
        null,
        1,
      )}\n`,
    );
    const { entries } = buildVehicleSignals(assignments);
    const sources = [...new Set(vehicleProfileSignals().map((s) => s.license))];
    const out = `// GENERATED by firmware-profiles/scripts/generate-vehicle-signals.mjs from firmware-profiles/profiles/vehicles
// and contracts/vehicle-signal-ids.json. Do not edit: run the script.
// Adapted from OBDb (github.com/OBDb) vehicle signalsets, CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/);
// this file is likewise CC BY-SA 4.0. Changes: one entry per signal, units as symbols, value ranges worked
// out from the formats, enumerations as code -> description. Sources:
${sources.map((s) => `//   ${s.replace(/, CC BY-SA 4\.0.*$/, '')}`).join('\n')}
import type { SignalDefinition } from './types.js';

export const VEHICLE_SIGNALS: readonly SignalDefinition[] = ${JSON.stringify(entries, null, 1)};
`;
    // Formatted as the repository formats code, so a rerun on unchanged data changes nothing.
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(outFile)) ?? {};
    writeFileSync(outFile, await prettier.format(out, { ...options, filepath: outFile }));
    console.error(`${entries.length} vehicle-specific signals written to ${path.relative(root, outFile)}`);
  }
}
