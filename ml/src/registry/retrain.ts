import { runEvaluation, type EvaluationReport } from '../eval/evaluate.js';
import { DEFAULT_REGISTRY_DIR, registerModel, type ModelMetrics, type RegistryEntry } from './registry.js';

export interface RetrainOptions {
  /** The data sets folder: one subfolder per car. */
  datasetsDir: string;
  dir?: string;
  seed?: number;
  epochs?: number;
  /** Faulty copies per test drive and fault type (fewer = a faster, coarser evaluation). */
  copiesPerDrive?: number;
  /** The id whose lineage this retrain continues (recorded in the version name). */
  fromId?: string;
  log?: (line: string) => void;
}

/**
 * The registry's figures for a model: the last line's (over the cars the model was not trained
 * on), and per fault type the worst car among those where the fault could be injected.
 */
export function metricsFrom(report: EvaluationReport): ModelMetrics {
  const counted = new Set(report.summary.cars);
  const basis = report.summary.basis;
  const rows = report.cars
    .filter((c) => counted.has(c.car))
    .flatMap((c) =>
      c.detectors.filter(
        (d) => d.kind === 'model' && (basis === 'all cars' ? d.exposure === 'no training' : d.exposure === basis),
      ),
    );
  if (rows.length === 0) throw new Error('evaluation produced no model report');
  const perFault: ModelMetrics['perFault'] = [];
  for (const fault of rows[0]?.perFault.map((m) => m.fault) ?? []) {
    const worst = rows
      .map((r) => r.perFault.find((m) => m.fault === fault))
      .filter((m) => m !== undefined && m.applicable)
      .sort((a, b) => (a?.f1 ?? 0) - (b?.f1 ?? 0))[0];
    if (worst) {
      const { precision, recall, f1, medianDelayS } = worst;
      perFault.push({ fault, precision, recall, f1, medianDelayS });
    }
  }
  return {
    minF1: report.summary.minF1,
    falseAlarmsPer100h: report.summary.falseAlarmsPer100h,
    perFault,
    evaluatedAt: new Date().toISOString(),
    seed: report.seed,
  };
}

/**
 * Trains the fleet model on every car of the data sets folder, evaluates it per car against
 * injected faults (and, model by model, on the cars it was not trained on), and registers the
 * all-cars model with those metrics. It is NOT deployed: a person compares metrics and deploys.
 */
export async function retrain(options: RetrainOptions): Promise<{ entry: RegistryEntry; report: EvaluationReport }> {
  const seed = options.seed ?? 7;
  const report = await runEvaluation({
    datasetsDir: options.datasetsDir,
    seed,
    epochs: options.epochs,
    copiesPerDrive: options.copiesPerDrive,
    log: options.log,
  });
  // A copy: without a fleet model the report's model is the shared RULES_ONLY_MODEL.
  report.model = {
    ...report.model,
    version: `${options.fromId ? `${options.fromId}>` : ''}ae-seed${seed}-${new Date().toISOString().slice(0, 10)}`,
  };
  const entry = await registerModel(
    { model: report.model, seed, trainingData: report.split, metrics: metricsFrom(report) },
    options.dir ?? DEFAULT_REGISTRY_DIR,
  );
  return { entry, report };
}
