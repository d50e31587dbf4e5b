import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { CAROBD_FILE } from '@clutch/firmware-profiles';
import { readingsToFrames, FRAME_MS, type Frame, type Reading } from '../features/frames.js';
import { SIGNAL_COUNT } from '../signals.js';
import { parseCarObdCsv, rowsToFrames, type Drive } from './carobd.js';
import { appLogImporter } from './importer.js';

/**
 * One car of a data sets folder: a subfolder holding its drive logs, in carOBD layout or in any
 * format the importer reads. Drives are listed, not loaded (a car can hold tens of hours).
 */
export interface Car {
  name: string;
  dir: string;
  /** Drive log paths relative to `dir`, in drive order (dated names chronologically, else natural order). */
  files: string[];
  /** How each file is read: carOBD layout or an importer format. */
  formats: Record<string, string>;
}

/** Drive logs are text exports; whether a file is one is decided by its header, never by folder name. */
const LOG_EXTENSIONS = /\.(csv|txt|tsv)$/i;
const MAX_DEPTH = 3;
/** Enough for the longest header line (Torque Pro writes every PID the user ever logged). */
const HEAD_BYTES = 16_384;

async function head(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * The carOBD header (SOURCE.md): run time, rpm, speed as its first three columns. The KIT Seat Leon
 * was converted to the same layout with dated file names, so the header decides, not the name.
 */
export function isCarObdHeader(text: string): boolean {
  const first = (text.split(/\r?\n/, 1)[0] ?? '').split(',').map((f) => f.trim().toUpperCase());
  return (
    (first[0]?.startsWith('ENGINE_RUN_TI') ?? false) &&
    (first[1]?.startsWith('ENGINE_RPM') ?? false) &&
    (first[2]?.startsWith('VEHICLE_SPEED') ?? false)
  );
}

/**
 * Reads app logs that are not in carOBD layout (ml/src/import); discovery works without one and then
 * finds carOBD-layout cars only.
 */
export interface LogImporter {
  /** The format name of a log's first bytes, or null when it is not a log this importer reads. */
  detect(text: string, fileName: string): string | null;
  /** Readings in catalogue keys and SAE units; time in epoch ms (or ms from start when undated). */
  parse(text: string, format: string, fileName: string): { readings: Reading[]; startedAt: number | null };
}

/** 'carobd' or the importer's format name for a log file's first bytes; null when it is no drive log. */
export function logFormatOf(text: string, fileName: string, importer: LogImporter | null): string | null {
  if (isCarObdHeader(text)) return 'carobd';
  try {
    return importer?.detect(text, fileName) ?? null;
  } catch {
    return null;
  }
}

/** A linked file or folder (a sampled fleet, a shared drive) counts as what it points to. */
async function kindOf(full: string, e: Dirent): Promise<'file' | 'dir' | null> {
  const target = e.isSymbolicLink() ? await stat(full).catch(() => null) : e;
  return target?.isDirectory() ? 'dir' : target?.isFile() ? 'file' : null;
}

async function findLogs(
  dir: string,
  importer: LogImporter | null,
  rel = '',
  depth = 0,
): Promise<{ file: string; format: string }[]> {
  const entries = await readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => []);
  const out: { file: string; format: string }[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const relPath = rel === '' ? e.name : path.join(rel, e.name);
    const kind = await kindOf(path.join(dir, relPath), e);
    if (kind === 'dir' && depth + 1 < MAX_DEPTH) out.push(...(await findLogs(dir, importer, relPath, depth + 1)));
    else if (kind === 'file' && LOG_EXTENSIONS.test(e.name)) {
      const format = logFormatOf(await head(path.join(dir, relPath)), e.name, importer);
      if (format) out.push({ file: relPath, format });
    }
  }
  return out;
}

/** Epoch ms of a date (and time) written in a file name: 2017-07-05, 20170705, 2017-07-05_14-03-22. */
export function dateFromName(name: string): number | null {
  const m = /(20\d\d|19\d\d)-?(\d\d)-?(\d\d)(?:[ _T-]?(\d\d)[-:.]?(\d\d)(?:[-:.]?(\d\d))?)?/.exec(path.basename(name));
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || s! > 59) return null;
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}

const natural = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/** Drive order: files whose names carry dates chronologically (ties: natural order), then the rest. */
export function driveOrder(files: readonly string[]): string[] {
  return [...files].sort((a, b) => {
    const da = dateFromName(a);
    const db = dateFromName(b);
    if (da !== null && db !== null && da !== db) return da - db;
    if ((da === null) !== (db === null)) return da === null ? 1 : -1;
    return natural(a, b);
  });
}

/**
 * Every car in a data sets folder: one per subfolder that holds drive logs (at most three levels
 * down, e.g. `carobd-toyota-etios-2014/obdiidata/*.csv`). Folders without any (DTC tables, signal
 * sets, DBC files) are skipped. `importer` null finds carOBD-layout cars only. Rejects when the
 * folder itself is absent.
 */
export async function discoverCars(datasetsDir: string, importer: LogImporter | null = appLogImporter): Promise<Car[]> {
  const entries = await readdir(datasetsDir, { withFileTypes: true });
  const cars: Car[] = [];
  for (const e of entries.filter((x) => !x.name.startsWith('.')).sort((a, b) => natural(a.name, b.name))) {
    const dir = path.join(datasetsDir, e.name);
    if ((await kindOf(dir, e)) !== 'dir') continue;
    const logs = await findLogs(dir, importer);
    if (logs.length === 0) continue;
    cars.push({
      name: e.name,
      dir,
      files: driveOrder(logs.map((l) => l.file)),
      formats: Object.fromEntries(logs.map((l) => [l.file, l.format])),
    });
  }
  return cars;
}

/** A loaded drive and when it started, if the file says (importer date or dated file name). */
export interface LoadedDrive extends Drive {
  startedAt: number | null;
}

/**
 * One drive of a car as frames starting at 0. carOBD rows have no clock: row i is placed at
 * i × 500 ms. Imported logs keep their own clock (shifted to 0), bucketed to 500 ms frames.
 */
export async function loadCarDrive(
  car: Car,
  file: string,
  importer: LogImporter | null = appLogImporter,
): Promise<LoadedDrive> {
  const text = await readFile(path.join(car.dir, file), 'utf8');
  const format = car.formats[file] ?? 'carobd';
  const mode = (CAROBD_FILE.exec(path.basename(file))?.[1] as Drive['mode'] | undefined) ?? 'log';
  const named = dateFromName(file);
  if (format === 'carobd') return { file, mode, startedAt: named, frames: rowsToFrames(parseCarObdCsv(text).rows) };
  if (!importer) throw new Error(`${car.name}/${file}: ${format} logs need the importer`);
  const parsed = importer.parse(text, format, path.basename(file));
  const frames = readingsToFrames(parsed.readings, new Float64Array(SIGNAL_COUNT).fill(NaN));
  const t0 = frames[0]?.t ?? 0;
  for (const f of frames) f.t = Math.round((f.t - t0) / FRAME_MS) * FRAME_MS;
  return { file, mode, startedAt: parsed.startedAt ?? named, frames };
}

/** A gap between consecutive drives on the evaluation clock, so trips never touch. */
export const DRIVE_GAP_MS = 3_600_000;

/**
 * All drives of a car in drive order on one monotonic clock: drives whose file carries a date in
 * date order (ties and undated drives keep the discovery order), each starting at its date when
 * that is later than the previous drive's end + 1 h, else 1 h after the previous drive.
 */
export async function loadCarDrives(car: Car, importer: LogImporter | null = appLogImporter): Promise<LoadedDrive[]> {
  const loaded: LoadedDrive[] = [];
  for (const file of car.files) loaded.push(await loadCarDrive(car, file, importer));
  const order = loaded
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const sa = a.d.startedAt;
      const sb = b.d.startedAt;
      if (sa !== null && sb !== null && sa !== sb) return sa - sb;
      if ((sa === null) !== (sb === null)) return sa === null ? 1 : -1;
      return a.i - b.i;
    })
    .map((x) => x.d);
  let next = 0;
  for (const drive of order) {
    const start = Math.max(next, drive.startedAt ?? 0);
    for (const f of drive.frames) f.t += start;
    const end = (drive.frames[drive.frames.length - 1] as Frame | undefined)?.t ?? start;
    next = end + DRIVE_GAP_MS;
  }
  return order;
}

/**
 * A small data sets folder for smoke runs and tests: the same car folders holding links to the
 * first `drivesPerCar` drives (in name order) of each car of `datasetsDir`. Links, never copies:
 * the data sets stay in place (licences, size). Returns `toDir`.
 */
export async function sampleFleet(datasetsDir: string, toDir: string, drivesPerCar: number): Promise<string> {
  for (const car of await discoverCars(datasetsDir)) {
    for (const file of car.files.slice(0, drivesPerCar)) {
      const target = path.join(toDir, car.name, file);
      await mkdir(path.dirname(target), { recursive: true });
      await symlink(path.join(car.dir, file), target);
    }
  }
  return toDir;
}
