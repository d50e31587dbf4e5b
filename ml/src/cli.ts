#!/usr/bin/env node
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetsDir as defaultDatasetsDir } from '@clutch/firmware-profiles';
import { formatReport, runEvaluation } from './eval/evaluate.js';
import { DEFAULT_REGISTRY_DIR, deployModel, listModels, registerModel } from './registry/registry.js';
import { metricsFrom } from './registry/retrain.js';

/** ml/dist/cli.js -> repository root (two levels up). */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `usage: clutch-ml evaluate [--datasets DIR] [--seed N] [--copies N] [--epochs N] [--rules-only]
                          [--cars NAME,NAME] [--max-drives N] [--register] [--registry DIR]
         (DIR: one subfolder per car, carOBD layout or Torque / Car Scanner / OBD Auto Doctor logs;
          default $CLUTCH_DATASETS_DIR or ../shared/datasets)
       clutch-ml list [--registry DIR]
       clutch-ml deploy <id> [--registry DIR]
(also: npm run ml -- <command>)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flag = (name: string): string | undefined => {
    const i = rest.indexOf(`--${name}`);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const datasetsDir = flag('datasets') ?? defaultDatasetsDir(process.env, repoRoot);
  const registryDir = flag('registry') ?? DEFAULT_REGISTRY_DIR;
  switch (command) {
    case 'evaluate': {
      const cars = flag('cars')
        ?.split(',')
        .filter((c) => c !== '');
      const maxDrives = flag('max-drives');
      const report = await runEvaluation({
        datasetsDir,
        seed: Number(flag('seed') ?? 7),
        copiesPerDrive: Number(flag('copies') ?? 2),
        epochs: flag('epochs') ? Number(flag('epochs')) : undefined,
        rulesOnly: rest.includes('--rules-only'),
        ...(cars ? { cars } : {}),
        ...(maxDrives ? { maxDrivesPerCar: Number(maxDrives) } : {}),
        log: (line) => console.log(line),
      });
      console.log(formatReport(report));
      if (rest.includes('--register')) {
        const entry = await registerModel(
          { model: report.model, seed: report.seed, trainingData: report.split, metrics: metricsFrom(report) },
          registryDir,
        );
        console.log(`registered ${entry.id} in ${registryDir} (not deployed; run: clutch-ml deploy ${entry.id})`);
      }
      return 0;
    }
    case 'list': {
      for (const m of await listModels(registryDir)) {
        // NaN (nothing measured) is stored as null in the registry's JSON.
        const fixed = (x: number | null, digits: number): string =>
          typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
        const metrics = m.metrics
          ? `min F1 ${fixed(m.metrics.minF1, 3)}, FA/100h ${fixed(m.metrics.falseAlarmsPer100h, 2)}`
          : 'not evaluated';
        console.log(`${m.live ? '*' : ' '} ${m.id}  ${m.version}  ${m.createdAt}  ${metrics}`);
      }
      return 0;
    }
    case 'deploy': {
      const id = rest[0];
      if (!id) throw new Error('usage: clutch-ml deploy <id>');
      console.log(`live: ${(await deployModel(id, registryDir)).id}`);
      return 0;
    }
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
