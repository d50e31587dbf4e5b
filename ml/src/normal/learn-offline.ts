import type { Frame } from '../features/frames.js';
import type { ClutchModel } from '../models/model.js';
import { createOnlineScorer } from '../online/scorer.js';
import { compactVehicleNormal, type VehicleNormal } from './vehicle-normal.js';

/**
 * Offline learning from one whole drive or an imported history, in time order (evaluation
 * calibration, import). It runs the same path as live scoring (sample filter, checks, learning only
 * from windows without a finding), so a normal seeded offline is the one the car would have learned
 * driving; the normal is updated in place (and left compacted for storage, compactVehicleNormal).
 */
export function learnNormalFromFrames(
  normal: VehicleNormal,
  frames: readonly Frame[],
  options: { model?: ClutchModel } = {},
): void {
  const scorer = createOnlineScorer({ model: options.model, now: () => 0 });
  scorer.seedNormal('vehicle', normal);
  scorer.pushFrames('vehicle', frames);
  // Imported or seeded normals are stored next: in their stored form.
  compactVehicleNormal(normal);
}
