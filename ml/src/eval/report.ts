import type { CarDetectorReport, CarReport, EvaluationReport } from './evaluate.js';

const num = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : '  -  ');

/** `a×3, b×1` most frequent first; beyond `top` entries, how many more. */
const counts = (c: Record<string, number>, top = Infinity): string => {
  const sorted = Object.entries(c).sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, top).map(([k, v]) => `${k}×${v}`);
  return sorted.length > top ? `${shown.join(', ')} and ${sorted.length - top} more` : shown.join(', ');
};

export const TABLE_HEADER = 'fault type     episodes  TP  FP  precision  recall     F1   median delay (s)';

function detectorLines(d: CarDetectorReport): string[] {
  const lines = [`-- ${d.name} (${d.exposure}) --`, TABLE_HEADER];
  for (const m of d.perFault) {
    if (!m.applicable) {
      lines.push(`${m.fault.padEnd(14)} n/a (${m.reason ?? 'signals missing'})`);
      continue;
    }
    if (m.episodes === 0) {
      lines.push(`${m.fault.padEnd(14)} ${'0'.padStart(8)}  not measured (no test drive ≥ 8 min)`);
      continue;
    }
    lines.push(
      `${m.fault.padEnd(14)} ${String(m.episodes).padStart(8)} ${String(m.truePositives).padStart(3)} ${String(m.falsePositives).padStart(3)}` +
        `  ${num(m.precision).padStart(9)}  ${num(m.recall).padStart(6)}  ${num(m.f1).padStart(5)}   ${Number.isFinite(m.medianDelayS) ? m.medianDelayS.toFixed(0).padStart(8) : '       -'}`,
    );
  }
  lines.push(
    `clean test drives: ${d.cleanDrives} (${d.cleanHours.toFixed(1)} vehicle-hours), alerts: ${d.cleanAlerts}, ` +
      `false alarms/100h: ${num(d.falseAlarmsPer100h, 2)}`,
  );
  if (Object.keys(d.cleanAlertLabels).length > 0)
    lines.push(`  false alarms by condition: ${counts(d.cleanAlertLabels)}`);
  const wrong = d.perFault.filter((m) => Object.keys(m.wrongAlerts).length > 0);
  if (wrong.length > 0) lines.push('  alerts on faulty copies that do not name the fault (before: = before onset):');
  for (const m of wrong) lines.push(`    ${m.fault}: ${counts(m.wrongAlerts, 6)}`);
  if (d.kind === 'model') {
    const dq = Object.keys(d.dataQuality).length > 0 ? counts(d.dataQuality) : 'none';
    lines.push(`  data quality (implausible samples filtered on clean drives): ${dq}`);
    const waiting = d.calibration?.checks.filter((c) => !c.ready) ?? [];
    if (waiting.length > 0)
      lines.push(
        `  checks that cannot run: ${waiting.map((c) => `${c.check} (${c.reason ?? 'not ready'})`).join(', ')}`,
      );
  }
  return lines;
}

function carLines(c: CarReport): string[] {
  const cal = c.calibration;
  const missing = c.applicability.filter((a) => !a.applicable).map((a) => `${a.fault}: ${a.reason ?? ''}`);
  return [
    '',
    `== ${c.car} ==`,
    `${c.drives} drives, ${c.hours.toFixed(1)} h; signals: ${c.signals.join(', ')}`,
    ...(missing.length > 0 ? [`not injectable: ${missing.join('; ')}`] : []),
    `calibration: first ${cal.drives} drives (${cal.hours.toFixed(1)} h, ${cal.runningHours.toFixed(1)} running h, ${cal.trips} trips; ` +
      `needs ${cal.hoursNeeded} h and ${cal.tripsNeeded} trips): ${cal.calibrated ? 'calibrated' : 'STILL CALIBRATING (capped at half the drives)'}`,
    `fleet-model training pool: ${c.trainPool.drives} drives (${c.trainPool.hours.toFixed(1)} h); ` +
      `test: ${c.test.drives} drives (${c.test.hours.toFixed(1)} h; one false alarm = ${num(100 / c.test.hours, 1)}/100 h), ` +
      `${c.test.faultable} of them ≥ 8 min get faulty copies`,
    ...c.detectors.flatMap(detectorLines),
  ];
}

function summaryLines(report: EvaluationReport): string[] {
  const lines = [
    '',
    '== summary ==',
    `${'car'.padEnd(28)} ${'detector'.padEnd(28)} ${'exposure'.padEnd(15)} min F1  FA/100h  calib h  test h`,
  ];
  for (const c of report.cars) {
    for (const d of c.detectors) {
      lines.push(
        `${c.car.padEnd(28)} ${d.name.padEnd(28)} ${d.exposure.padEnd(15)} ${num(d.minF1).padStart(6)} ${num(d.falseAlarmsPer100h, 2).padStart(8)}` +
          `  ${c.calibration.runningHours.toFixed(1).padStart(7)}  ${d.cleanHours.toFixed(1).padStart(6)}`,
      );
    }
  }
  return lines;
}

/** `min F1: 0.950, false alarms/100h: 0.00` (n/a where nothing could be measured). */
export function lastLine(minF1: number, falseAlarmsPer100h: number): string {
  const f = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  return `min F1: ${f(minF1, 3)}, false alarms/100h: ${f(falseAlarmsPer100h, 2)}`;
}

/** The per-car tables, the summary, and as the last line `min F1: <x>, false alarms/100h: <y>`. */
export function formatReport(report: EvaluationReport): string {
  const lines: string[] = [
    `model: ${report.modelKind === 'fleet' ? 'fleet model + health checks' : report.modelKind === 'given' ? 'given model' : 'health checks only (rules only)'}` +
      `, seed ${report.seed}, ${report.copiesPerDrive} faulty copies per test drive and fault type`,
    ...report.notes.map((n) => `note: ${n}`),
    ...report.cars.flatMap(carLines),
    ...summaryLines(report),
    '',
    `evaluated in ${report.seconds.toFixed(1)} s`,
    `last line: over ${report.summary.basis === 'all cars' ? 'all cars (no model was trained)' : `the cars ${report.summary.basis}`}: ` +
      `${report.summary.cars.join(', ') || 'none'}`,
    lastLine(report.summary.minF1, report.summary.falseAlarmsPer100h),
  ];
  return lines.join('\n');
}
