import { S } from '../signals.js';
import { windowFeatures } from '../features/windows.js';
import { expectedMap } from '../models/virtual-map.js';
import type { CheckInput, Finding } from './types.js';
import { fmt } from './window-stats.js';

/** Compares the MAP sensor with the pressure the engine's load and speed imply. */
export function checkMapConsistency({ window, calibration }: CheckInput): Finding[] {
  const model = calibration.virtualMap;
  if (!model) return [];
  const f = windowFeatures(window);
  if (!f) return [];
  const observed = f[S.map] as number;
  const expected = expectedMap(model, f);
  const residual = observed - expected;
  if (residual >= model.low && residual <= model.high) return [];
  const high = residual > 0;
  return [
    {
      condition: 'sensor.map_mismatch',
      kind: 'sensor',
      severity: 'warning',
      title: `Manifold pressure reads ${high ? 'high' : 'low'} for the engine load`,
      explanation:
        `Intake manifold pressure averaged ${fmt(observed, 0)} kPa over 30 s, but at ${fmt(f[S.load] as number, 0)} % load ` +
        `and ${fmt(f[S.rpm] as number, 0)} rpm this engine pulls about ${fmt(expected, 0)} kPa (healthy drives stay ` +
        `within ±${fmt(model.high, 1)} kPa). The MAP sensor is likely drifting or its vacuum hose is leaking or ` +
        'blocked. Check: with key on and engine off MAP should equal barometric pressure (~101 kPa at sea level); ' +
        'inspect the sensor hose, connector and 5 V reference.',
      signals: ['intake.manifold_pressure', 'engine.load', 'engine.rpm'],
      observed,
      expected: { min: expected + model.low, max: expected + model.high },
      unit: 'kPa',
      // Three windows (45 s): a single hard transient can push one window's averages apart.
      confirmWindows: 3,
    },
  ];
}
