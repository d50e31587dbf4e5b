#!/usr/bin/env node
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { carObdDir } from './dataset/carobd.js';
import { formatReport, runEvaluation } from './eval/evaluate.js';
import { DEFAULT_REGISTRY_DIR, deployModel, listModels, registerModel } from './registry/registry.js';
import { metricsFrom } from './registry/retrain.js';

/** ml/dist/cli.js -> repository root (two levels up). */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `usage: clutch-ml evaluate [--seed N] [--copies N] [--epochs N] [--register] [--registry DIR]
       clutch-ml list [--registry DIR]
       clutch-ml deploy <id> [--registry DIR]
(also: npm run ml -- <command>)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flag = (name: string): string | undefined => {
    const i = rest.indexOf(`--${name}`);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const datasetDir = carObdDir(repoRoot);
  const registryDir = flag('registry') ?? DEFAULT_REGISTRY_DIR;
  switch (command) {
    case 'evaluate': {
      const report = await runEvaluation({
        datasetDir,
        seed: Number(flag('seed') ?? 7),
        copiesPerDrive: Number(flag('copies') ?? 2),
        epochs: flag('epochs') ? Number(flag('epochs')) : undefined,
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
        const metrics = m.metrics
          ? `min F1 ${m.metrics.minF1.toFixed(3)}, FA/100h ${m.metrics.falseAlarmsPer100h.toFixed(2)}`
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
