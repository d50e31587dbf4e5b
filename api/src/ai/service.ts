import {
  analyzeDriving,
  deployModel,
  FEATURE_SIGNALS,
  listModels,
  loadModel,
  modelPerformance,
  predictMaintenance,
  RULES_ONLY_MODEL,
  type Alert as MlAlert,
  type ClutchModel,
  type DrivingReport,
  type MaintenancePrediction,
  type ModelMetrics,
  type Reading,
  type RegistryEntry,
} from '@clutch/ml';
import type { Scope } from '../auth/principal.js';
import { apiError } from '../errors.js';
import { resolveRange } from '../telemetry/service.js';
import { readVehicleNormal } from '../vehicle-health/calibration.js';
import { assertVehicle } from '../vehicles/service.js';
import type { Job } from './jobs.js';
import { AiRepository } from './repository.js';
import { inProcessRetrains, type RetrainJobs } from './retrain-jobs.js';
import { drivingDatasets, retrainWith, type RetrainOptions, type RetrainResult } from './retrain-worker.js';

export const DEFAULT_MODELS_DIR = './data/models';

export const AI_LIMITS = {
  /** Default look-back of predict/analyze when `from` is left out. */
  defaultWindowMs: 24 * 3600_000,
  maxWindowMs: 7 * 24 * 3600_000,
  /** Newest samples read per request (≈ 10 h of 11 signals at 1 Hz); older ones are left out. */
  maxRows: 400_000,
} as const;

export interface ModelSummary {
  id: string;
  version: string;
  createdAt: string;
  seed: number;
  live: boolean;
  trainingData: RegistryEntry['trainingData'];
  metrics: ModelMetrics | null;
}

function summary(entry: RegistryEntry): ModelSummary {
  const { id, version, createdAt, seed, live, trainingData, metrics } = entry;
  return { id, version, createdAt, seed, live, trainingData, metrics };
}

/** The ml package names its errors ML_*; the API answers with its own catalogue codes. */
async function mapMlErrors<T>(id: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ML_MODEL_NOT_FOUND')
      throw apiError('MODEL_NOT_FOUND', `No model with id ${id}`, { modelId: id });
    throw err;
  }
}

/** The file-based model registry and retraining, for administrators and dashboards. */
export class AiModelsService {
  private readonly retrains: RetrainJobs;
  private live: { id: string; model: ClutchModel } | undefined;

  /**
   * `retrains`: queuedRetrains({ db, jobs }) when the platform runs a job queue (durable, any
   * worker process); by default the retrain runs in this process and its job is kept in memory.
   */
  constructor(
    private readonly modelsDir: string,
    private readonly datasetsDir: string,
    retrains?: RetrainJobs,
  ) {
    this.retrains = retrains ?? inProcessRetrains(retrainWith({ modelsDir, datasetsDir }));
  }

  async list(): Promise<{ models: ModelSummary[] }> {
    return { models: (await listModels(this.modelsDir)).map(summary) };
  }

  async deploy(id: string): Promise<ModelSummary> {
    const entry = await mapMlErrors(id, () => deployModel(id, this.modelsDir));
    return summary({ ...entry, live: true });
  }

  performance(id: string): Promise<{ id: string; version: string; metrics: ModelMetrics | null }> {
    return mapMlErrors(id, () => modelPerformance(id, this.modelsDir));
  }

  /**
   * Starts a retrain continuing `fromId`'s lineage: train the fleet model on every car of the data
   * sets folder, evaluate it per car against injected faults, register with metrics. Not deployed.
   */
  async retrain(scope: Scope, fromId: string, options: RetrainOptions): Promise<Job<RetrainResult>> {
    await this.performance(fromId);
    // Checked here so the caller hears it at once; the worker's process checks its own folder again.
    await drivingDatasets(this.datasetsDir);
    return this.retrains.start(scope, fromId, options);
  }

  job(scope: Scope, id: string): Promise<Job<RetrainResult>> {
    return this.retrains.get(scope.administration({ action: 'ai.job.read', target: id }), id);
  }

  /** The deployed model (re-read when another one is deployed), else the rules-only model. */
  async liveModel(): Promise<{ id: string | null; model: ClutchModel }> {
    const entry = (await listModels(this.modelsDir)).find((m) => m.live);
    if (!entry) return { id: null, model: RULES_ONLY_MODEL };
    if (this.live?.id !== entry.id) this.live = { id: entry.id, model: await loadModel(entry.id, this.modelsDir) };
    return this.live;
  }
}

export type InsightInput =
  { vehicleId: string; from?: Date | undefined; to?: Date | undefined } | { readings: Reading[] };

export interface InsightSource {
  vehicleId: string | null;
  from: string | null;
  to: string | null;
  readings: number;
  /** True when the range held more than AI_LIMITS.maxRows samples and only the newest were used. */
  truncated: boolean;
}

export interface ExplainedAlert {
  kind: string;
  severity: MlAlert['severity'];
  title: string;
  explanation: string;
  signals: string[];
  observed: number | null;
  expected: { min?: number; max?: number };
  unit: string;
  at: string;
}

export interface Maintenance extends InsightSource, Omit<MaintenancePrediction, 'alerts' | 'systems'> {
  modelId: string | null;
  alerts: ExplainedAlert[];
  systems: Record<string, { status: 'ok' | 'attention' | 'no_data'; summary: string; alerts: ExplainedAlert[] }>;
}

export interface Driving extends InsightSource, Omit<DrivingReport, 'events'> {
  events: (Omit<DrivingReport['events'][number], 'at'> & { at: string })[];
}

function explained(a: MlAlert): ExplainedAlert {
  return {
    kind: a.kind,
    severity: a.severity,
    title: a.title,
    explanation: a.explanation,
    signals: a.signals,
    observed: Number.isFinite(a.observed) ? a.observed : null,
    expected: a.expected,
    unit: a.unit,
    at: new Date(a.at).toISOString(),
  };
}

/** Maintenance prediction and driving analysis over stored samples or readings sent in the request. */
export class AiInsightsService {
  constructor(
    private readonly models: AiModelsService,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async predict(scope: Scope, input: InsightInput): Promise<Maintenance> {
    const [{ source, readings }, live] = await Promise.all([this.readings(scope, input), this.models.liveModel()]);
    // The vehicle's own normal as scoring stored it: a calibrated car is judged against itself too.
    const vehicleId = source.vehicleId;
    const stored = vehicleId ? await scope.run((q) => readVehicleNormal(q, vehicleId)) : null;
    const prediction = predictMaintenance(readings, {
      model: live.model,
      ...(stored ? { normal: stored.normal } : {}),
    });
    const systems: Maintenance['systems'] = {};
    for (const [kind, s] of Object.entries(prediction.systems))
      systems[kind] = { status: s.status, summary: s.summary, alerts: s.alerts.map(explained) };
    return {
      ...source,
      modelId: live.id,
      modelVersion: prediction.modelVersion,
      hoursAnalysed: prediction.hoursAnalysed,
      alerts: prediction.alerts.map(explained),
      systems,
      ...(prediction.calibration ? { calibration: prediction.calibration } : {}),
    };
  }

  async analyze(scope: Scope, input: InsightInput): Promise<Driving> {
    const { source, readings } = await this.readings(scope, input);
    const report = analyzeDriving(readings);
    return { ...source, ...report, events: report.events.map((e) => ({ ...e, at: new Date(e.at).toISOString() })) };
  }

  private async readings(scope: Scope, input: InsightInput): Promise<{ source: InsightSource; readings: Reading[] }> {
    if ('readings' in input) {
      return {
        source: { vehicleId: null, from: null, to: null, readings: input.readings.length, truncated: false },
        readings: input.readings,
      };
    }
    const { from, to } = resolveRange(input.from, input.to, AI_LIMITS.defaultWindowMs, this.now());
    if (to.getTime() - from.getTime() > AI_LIMITS.maxWindowMs) {
      throw apiError(
        'TIME_RANGE_INVALID',
        `At most ${AI_LIMITS.maxWindowMs / 86_400_000} days can be analysed at once`,
      );
    }
    const rows = await scope.run(async (q) => {
      await assertVehicle(q, input.vehicleId);
      return new AiRepository(q).readings(input.vehicleId, FEATURE_SIGNALS, from, to, AI_LIMITS.maxRows + 1);
    });
    const truncated = rows.length > AI_LIMITS.maxRows;
    const readings = rows
      .slice(0, AI_LIMITS.maxRows)
      .map((r) => ({ signal: r.signal, time: new Date(r.time).getTime(), value: Number(r.value) }));
    return {
      source: {
        vehicleId: input.vehicleId,
        from: from.toISOString(),
        to: to.toISOString(),
        readings: readings.length,
        truncated,
      },
      readings,
    };
  }
}
