import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { importFromCli, toImport } from '@clutch/api';
import { isLogFormat, LOG_FORMATS, parseVehicleLog, type LogFormat, type ParsedLog } from '@clutch/ml';
import type { ImportSummary } from '@clutch/ingest';
import type { CliOutput } from '../audit/cli.js';
import { importHistoryWith } from './import-history.js';
import { openExistingDatabase } from '../config/open-existing.js';

export const IMPORT_USAGE = `usage: clutch import FILE --vehicle ID [--format ${LOG_FORMATS.join('|')}] [--start ISO-TIME] [--dry-run]
                    [--database-url URL | --data-dir DIR] [--models-dir DIR]
  Imports an app's CSV log (Torque Pro, Car Scanner, OBD Auto Doctor, carOBD; docs/imports.md) into
  the vehicle's history: the readings are stored as samples, scored with the deployed model (else the
  health checks alone) starting from the vehicle's stored normal, alerts are stored and the normal it
  learned is saved. The same file imported again is not stored twice. --format: when the header is
  not recognised. --start: where a log without a date begins (default: it ends now). --dry-run:
  parse and print what would be imported, without a database. The database is the platform's
  (DATABASE_URL / --database-url, else the PGlite directory CLUTCH_DATA_DIR / --data-dir, default
  ./data/pglite; stop the platform first). Exit status: 0 imported (or imported before), 1 the file
  cannot be imported, 2 bad usage, no database or no such vehicle.`;

interface ImportArgs {
  file: string;
  vehicleId: string | undefined;
  format: LogFormat | undefined;
  startAt: number | undefined;
  dryRun: boolean;
  rest: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseArgs(argv: readonly string[]): ImportArgs | string {
  let file: string | undefined;
  let vehicleId: string | undefined;
  let format: string | undefined;
  let start: string | undefined;
  let dryRun = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === '--vehicle') vehicleId = value();
    else if (flag === '--format') format = value();
    else if (flag === '--start') start = value();
    else if (flag === '--dry-run') dryRun = true;
    else if (!arg.startsWith('-') && file === undefined) file = arg;
    else if (arg.startsWith('-')) {
      rest.push(arg);
      // The platform's own options take a value (--database-url URL): keep it with its flag.
      if (inline === undefined && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) rest.push(argv[++i]!);
    } else return `one file at a time (${JSON.stringify(arg)} is a second)`;
  }
  if (!file) return 'give the log file';
  if (!dryRun && !vehicleId) return 'give --vehicle';
  if (vehicleId !== undefined && !UUID.test(vehicleId))
    return `--vehicle ${JSON.stringify(vehicleId)} is not a vehicle id`;
  if (format !== undefined && !isLogFormat(format)) return `--format must be one of ${LOG_FORMATS.join(', ')}`;
  const startAt = start === undefined ? undefined : Date.parse(start);
  if (startAt !== undefined && !Number.isFinite(startAt)) return `--start ${JSON.stringify(start)} is not a date`;
  return { file, vehicleId, format: format as LogFormat | undefined, startAt, dryRun, rest };
}

/** The lines a person reads after an import (or a dry run). */
export function describeImport(log: ParsedLog | null, summary: ImportSummary | null): string[] {
  const lines: string[] = [];
  const format = summary?.format ?? log?.format;
  const rows = summary?.rows ?? log?.rows ?? 0;
  const skipped = summary?.skippedRows ?? log?.skippedRows ?? 0;
  lines.push(`format: ${format}`, `rows: ${rows} read, ${skipped} skipped`);
  const perSignal: Record<string, number> = summary?.readingsPerSignal ?? {};
  if (!summary && log) for (const r of log.readings) perSignal[r.signal] = (perSignal[r.signal] ?? 0) + 1;
  if (summary)
    lines.push(
      `time: ${summary.from} .. ${summary.to}${summary.datedByFile ? '' : ' (the file has no date: placed there)'}`,
    );
  else if (log && log.readings.length > 0) {
    const first = log.readings[0]!.time as number;
    const last = log.readings.at(-1)!.time as number;
    lines.push(
      log.startedAt === null
        ? `time: ${((last - first) / 1000).toFixed(1)} s, no date in the file`
        : `time: ${new Date(first).toISOString()} .. ${new Date(last).toISOString()}`,
    );
  }
  lines.push('readings per signal:');
  for (const [signal, n] of Object.entries(perSignal).sort()) lines.push(`  ${signal}: ${n}`);
  const notImported = (summary?.columns ?? log?.columns ?? []).filter((c) => c.signal === null);
  if (notImported.length > 0) {
    lines.push('not imported:');
    for (const c of notImported) lines.push(`  ${c.source}: ${c.note ?? ''}`);
  }
  if (summary) {
    lines.push(
      `samples: ${summary.samplesStored} stored, ${summary.samplesAlreadyStored} already stored` +
        (summary.samplesInFuture > 0 ? `, ${summary.samplesInFuture} dated in the future refused` : ''),
    );
    const conditions = Object.entries(summary.alerts.byCondition).map(([c, n]) => `${c} ${n}`);
    lines.push(
      `alerts raised: ${summary.alerts.raised}${conditions.length ? ` (${conditions.join(', ')})` : ''} [${summary.modelVersion}]`,
    );
    const c = summary.calibration;
    lines.push(
      `calibration: ${c.status} (${c.runningHours.toFixed(1)} of ${c.hoursNeeded} h, ${c.trips} of ${c.tripsNeeded} trips)`,
    );
    const waiting = c.checks.filter((k) => !k.ready);
    if (waiting.length > 0)
      lines.push(`checks not ready: ${waiting.map((k) => `${k.check} (${k.reason ?? ''})`).join('; ')}`);
  }
  for (const w of summary?.warnings ?? log?.warnings ?? []) lines.push(`note: ${w}`);
  return lines;
}

/** `clutch import ...`; resolves to the exit status. */
export async function importCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  io: CliOutput,
): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    io.err(`${args}\n${IMPORT_USAGE}`);
    return 2;
  }
  const path = resolve(cwd, args.file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    io.err(`cannot read ${path}: ${(err as Error).message}`);
    return 2;
  }
  const fileName = basename(path);
  if (args.dryRun) {
    try {
      const log = parseVehicleLog(text, { ...(args.format ? { format: args.format } : {}), fileName });
      for (const line of describeImport(log, null)) io.out(line);
      io.out('dry run: nothing stored');
      return 0;
    } catch (err) {
      io.err(`${(err as Error).message}`);
      return 1;
    }
  }
  const opened = await openExistingDatabase(args.rest, env, cwd, io, { maxConnections: 2, prepare: 'storage' });
  if (typeof opened === 'number') return opened;
  const { config, db } = opened;
  try {
    const result = await importFromCli(
      db,
      { vehicleId: args.vehicleId!, text, fileName, format: args.format, startAt: args.startAt },
      importHistoryWith(db, config.modelsDir, (m) => io.err(m)),
    );
    if (!result) {
      io.err(`no vehicle ${args.vehicleId}`);
      return 2;
    }
    const record = toImport(result.row);
    if (record.status === 'failed') {
      io.err(`import failed: ${record.error?.code}: ${record.error?.detail}`);
      return 1;
    }
    if (result.again)
      io.out(`already imported (${record.finishedAt ?? record.createdAt}, import ${record.id}): nothing stored again`);
    else io.out(`imported ${fileName} into vehicle ${args.vehicleId} (import ${record.id})`);
    if (record.summary) for (const line of describeImport(null, record.summary as ImportSummary)) io.out(line);
    return 0;
  } finally {
    await db.close();
  }
}
