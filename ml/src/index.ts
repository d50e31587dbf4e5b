/**
 * @clutch/ml: health checks a mechanic can read, an autoencoder anomaly score, fault-injection
 * evaluation, a file-based model registry and the real-time scorer the ingest chain calls.
 */
export { mlErrors, mlError, type MlErrorCode } from './errors.js';
export { FEATURE_SIGNALS, type FeatureSignal } from './signals.js';
export {
  type ColumnRange,
  type Reading,
  type ReadingColumns,
  type Frame,
  type Regime,
  columnsToReadings,
  featureColumn,
  regimeOf,
  readingsToFrames,
} from './features/frames.js';
export {
  FEATURE_NAMES,
  WINDOW_MS,
  HOP_MS,
  slidingWindows,
  windowFeatures,
  type FeatureWindow,
} from './features/windows.js';
export {
  CAROBD_COLUMNS,
  carObdDir,
  listDriveFiles,
  loadDrive,
  loadDrives,
  parseCarObdCsv,
  type Drive,
  type DriveMode,
} from './dataset/carobd.js';
export { splitDrives, type DriveSplit } from './dataset/split.js';
export {
  detectLogFormat,
  parseVehicleLog,
  isLogFormat,
  LOG_FORMATS,
  type ImportedColumn,
  type LogFormat,
  type ParsedLog,
} from './import/index.js';
export type { AlertKind, Finding, Severity } from './health/types.js';
export { analyzeDrivingFrames, type DrivingEvent, type DrivingReport } from './health/driving.js';
export {
  anomalyScore,
  isCurrentArtifact,
  ARTIFACT_FORMAT,
  type AutoencoderArtifact,
  type ThresholdPolicy,
  type TrainOptions,
} from './models/autoencoder.js';
export { trainModel, type TrainedModel } from './models/train.js';
export {
  createAnomalyState,
  learnAnomaly,
  checkAnomaly,
  anomalyReady,
  anomalyProgress,
  trainFleetModel,
  DEFAULT_THRESHOLD_POLICY,
  type AnomalyState,
  type FleetCar,
  type FleetTrainOptions,
} from './models/fleet-anomaly.js';
export { RULES_ONLY_MODEL, type ClutchModel } from './models/model.js';
export { createZScoreBaseline } from './models/baseline.js';
export {
  createOnlineScorer,
  type Alert,
  type DataQualityFinding,
  type OnlineScorer,
  type OnlineScorerOptions,
} from './online/scorer.js';
export {
  compactVehicleNormal,
  createVehicleNormal,
  parseVehicleNormal,
  OPERATING_REGIMES,
  type OperatingRegime,
  type SignalNormal,
  type VehicleNormal,
} from './normal/vehicle-normal.js';
export { learnNormalFromFrames } from './normal/learn-offline.js';
export {
  calibrationStatus,
  CALIBRATION_HOURS,
  CALIBRATION_TRIPS,
  type CalibrationStatus,
  type CheckReadiness,
} from './normal/readiness.js';
export { predictMaintenance, analyzeDriving, type MaintenancePrediction, type SystemStatus } from './api.js';
export { FAULT_TYPES, injectFault, type FaultType, type InjectedDrive } from './eval/inject.js';
export {
  runEvaluation,
  formatReport,
  type EvaluationReport,
  type EvaluateOptions,
  type CarReport,
  type DetectorReport,
  type FaultMetrics,
} from './eval/evaluate.js';
export { discoverCars, loadCarDrives, sampleFleet, type Car, type LoadedDrive } from './dataset/cars.js';
export {
  DEFAULT_REGISTRY_DIR,
  listModels,
  registerModel,
  deployModel,
  getLiveModel,
  loadModel,
  modelPerformance,
  type ModelMetrics,
  type RegistryEntry,
  type RegisterInput,
} from './registry/registry.js';
export { retrain, type RetrainOptions } from './registry/retrain.js';
export {
  benchmarkScoring,
  calibratedNormal,
  type BenchmarkOptions,
  type ScoringBenchmark,
  type ScoringThroughput,
} from './bench.js';
