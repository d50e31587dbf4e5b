import type { AutoencoderArtifact } from './autoencoder.js';
import { DEFAULT_CALIBRATION, type Calibration } from './calibration.js';

/** A deployable model: the learned sensor limits plus (optionally) the autoencoder. */
export interface ClutchModel {
  version: string;
  calibration: Calibration;
  autoencoder?: AutoencoderArtifact;
}

/** Health checks only, with limits measured on the carOBD data: what runs before any training. */
export const RULES_ONLY_MODEL: ClutchModel = { version: 'rules-only', calibration: DEFAULT_CALIBRATION };
