import { runEvaluation, type EvaluationReport } from '../eval/evaluate.js';
import { DEFAULT_REGISTRY_DIR, registerModel, type ModelMetrics, type RegistryEntry } from './registry.js';

export interface RetrainOptions {
  datasetDir: string;
  dir?: string;
  seed?: number;
  epochs?: number;
  /** The id whose lineage this retrain continues (recorded in the version name). */
  fromId?: string;
  log?: (line: string) => void;
}

export function metricsFrom(report: EvaluationReport): ModelMetrics {
  const ours = report.detectors[0];
  if (!ours) throw new Error('evaluation produced no detector report');
  return {
    minF1: ours.minF1,
    falseAlarmsPer100h: ours.falseAlarmsPer100h,
    perFault: ours.perFault.map(({ fault, precision, recall, f1, medianDelayS }) => ({
      fault,
      precision,
      recall,
      f1,
      medianDelayS,
    })),
    evaluatedAt: new Date().toISOString(),
    seed: report.seed,
  };
}

/**
 * Trains a new model on the carOBD split for `seed`, evaluates it against injected faults, and
 * registers it with its metrics. It is NOT deployed: a person compares metrics and deploys.
 */
export async function retrain(options: RetrainOptions): Promise<{ entry: RegistryEntry; report: EvaluationReport }> {
  const seed = options.seed ?? 7;
  const report = await runEvaluation({
    datasetDir: options.datasetDir,
    seed,
    epochs: options.epochs,
    log: options.log,
  });
  report.model.version = `${options.fromId ? `${options.fromId}>` : ''}ae-seed${seed}-${new Date().toISOString().slice(0, 10)}`;
  const entry = await registerModel(
    { model: report.model, seed, trainingData: report.split, metrics: metricsFrom(report) },
    options.dir ?? DEFAULT_REGISTRY_DIR,
  );
  return { entry, report };
}
