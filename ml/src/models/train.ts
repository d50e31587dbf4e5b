import { loadDrives, type Drive } from '../dataset/carobd.js';
import type { DriveSplit } from '../dataset/split.js';
import { slidingWindows, windowFeatures } from '../features/windows.js';
import { trainAutoencoder, type TrainOptions } from './autoencoder.js';
import { calibrate } from './calibration.js';
import { fitVirtualMap } from './virtual-map.js';
import type { ClutchModel } from './model.js';

export interface TrainedModel {
  model: ClutchModel;
  trainingWindows: number;
  validationWindows: number;
  lossHistory: number[];
  validationScore: number;
  backend: string;
}

export function driveFeatures(drives: readonly Drive[]): Float64Array[] {
  return drives.flatMap((d) =>
    slidingWindows(d.frames)
      .map(windowFeatures)
      .filter((x): x is Float64Array => x !== null),
  );
}

/** Calibrates the sensor limits and trains the autoencoder on the split's training files. */
export async function trainModel(
  datasetDir: string,
  split: DriveSplit,
  options: TrainOptions & { version?: string },
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
  options: TrainOptions & { version?: string },
): Promise<TrainedModel> {
  const trainX = driveFeatures(train);
  const valX = driveFeatures(validation);
  const result = await trainAutoencoder(trainX, valX, options);
  return {
    model: {
      version: options.version ?? `ae-seed${options.seed}`,
      calibration: { ...calibrate(train.map((d) => d.frames)), virtualMap: fitVirtualMap(trainX, valX) },
      autoencoder: result.artifact,
    },
    trainingWindows: trainX.length,
    validationWindows: valX.length,
    lossHistory: result.lossHistory,
    validationScore: result.validationLoss,
    backend: result.backend,
  };
}
