import { loadDrives, type Drive } from '../dataset/carobd.js';
import type { DriveSplit } from '../dataset/split.js';
import { trainFleetModel, type FleetTrainOptions, type TrainedModel } from './fleet-anomaly.js';

export type { TrainedModel } from './fleet-anomaly.js';

/**
 * Calibrates the sensor limits and trains the fleet autoencoder on one carOBD data set's split:
 * the one-car case of `trainFleetModel` (training files train, validation files validate).
 */
export async function trainModel(
  datasetDir: string,
  split: DriveSplit,
  options: FleetTrainOptions,
): Promise<TrainedModel> {
  const [train, validation] = await Promise.all([
    loadDrives(datasetDir, split.train),
    loadDrives(datasetDir, split.validation),
  ]);
  return trainOnDrives(train, validation, options);
}

export async function trainOnDrives(
  train: readonly Drive[],
  validation: readonly Drive[],
  options: FleetTrainOptions,
): Promise<TrainedModel> {
  return trainFleetModel(
    [{ name: 'carobd', drives: train.map((d) => d.frames), validation: validation.map((d) => d.frames) }],
    options,
  );
}
