import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ClutchError } from '@clutch/contracts';
import type { DriveSplit } from '../dataset/split.js';
import { mlError } from '../errors.js';
import { isCurrentArtifact } from '../models/autoencoder.js';
import type { ClutchModel } from '../models/model.js';

export const DEFAULT_REGISTRY_DIR = './data/models';

export interface ModelMetrics {
  minF1: number;
  falseAlarmsPer100h: number;
  perFault: { fault: string; precision: number; recall: number; f1: number; medianDelayS: number }[];
  evaluatedAt: string;
  seed: number;
}

export interface RegistryEntry {
  id: string;
  version: string;
  createdAt: string;
  seed: number;
  /** Which drive files trained, validated and tested it. */
  trainingData: DriveSplit;
  metrics: ModelMetrics | null;
  live: boolean;
  /** Artifact file name inside the registry directory. */
  artifact: string;
}

interface RegistryFile {
  models: RegistryEntry[];
}

async function readIndex(dir: string): Promise<RegistryFile> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'registry.json'), 'utf8')) as RegistryFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { models: [] };
    throw err;
  }
}

/** Write-then-rename so a crash never leaves a half-written registry behind. */
async function writeJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(
    tmp,
    JSON.stringify(value, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v)),
  );
  await rename(tmp, file);
}

function notFound(id: string): ClutchError {
  return mlError('ML_MODEL_NOT_FOUND', id, { id });
}

export async function listModels(dir = DEFAULT_REGISTRY_DIR): Promise<RegistryEntry[]> {
  return (await readIndex(dir)).models;
}

export interface RegisterInput {
  model: ClutchModel;
  seed: number;
  trainingData: DriveSplit;
  metrics?: ModelMetrics | null;
}

export async function registerModel(input: RegisterInput, dir = DEFAULT_REGISTRY_DIR): Promise<RegistryEntry> {
  await mkdir(dir, { recursive: true });
  const index = await readIndex(dir);
  const id = `m${String(index.models.length + 1).padStart(4, '0')}-${randomUUID().slice(0, 8)}`;
  const entry: RegistryEntry = {
    id,
    version: input.model.version,
    createdAt: new Date().toISOString(),
    seed: input.seed,
    trainingData: input.trainingData,
    metrics: input.metrics ?? null,
    live: false,
    artifact: `${id}.json`,
  };
  await writeJson(path.join(dir, entry.artifact), input.model);
  index.models.push(entry);
  await writeJson(path.join(dir, 'registry.json'), index);
  return entry;
}

/** Makes `id` the live model; exactly one model is live afterwards. */
export async function deployModel(id: string, dir = DEFAULT_REGISTRY_DIR): Promise<RegistryEntry> {
  const index = await readIndex(dir);
  const target = index.models.find((m) => m.id === id);
  if (!target) throw notFound(id);
  for (const m of index.models) m.live = m.id === id;
  await writeJson(path.join(dir, 'registry.json'), index);
  return target;
}

/**
 * A stored model as scoring can use it. An autoencoder of an older format (the one-car v1 with
 * absolute means and one global threshold, or anything unreadable) cannot be scored per vehicle: it
 * is dropped and the model serves its rule checks only, so an old registry never stops ingest or the
 * API. `autoencoderDropped` says so, for logs and the model list.
 */
export function modelFromJson(json: unknown): ClutchModel & { autoencoderDropped?: true } {
  const model = json as ClutchModel;
  if (model.autoencoder === undefined || isCurrentArtifact(model.autoencoder)) return model;
  const { autoencoder: _old, ...rest } = model;
  return { ...rest, autoencoderDropped: true };
}

export async function loadModel(id: string, dir = DEFAULT_REGISTRY_DIR): Promise<ClutchModel> {
  const entry = (await readIndex(dir)).models.find((m) => m.id === id);
  if (!entry) throw notFound(id);
  return modelFromJson(
    JSON.parse(await readFile(path.join(dir, entry.artifact), 'utf8'), (_k, v: unknown) =>
      v === 'Infinity' ? Infinity : v,
    ),
  );
}

export async function getLiveModel(
  dir = DEFAULT_REGISTRY_DIR,
): Promise<{ entry: RegistryEntry; model: ClutchModel } | null> {
  const entry = (await readIndex(dir)).models.find((m) => m.live);
  return entry ? { entry, model: await loadModel(entry.id, dir) } : null;
}

export async function modelPerformance(
  id: string,
  dir = DEFAULT_REGISTRY_DIR,
): Promise<{ id: string; version: string; metrics: ModelMetrics | null }> {
  const entry = (await readIndex(dir)).models.find((m) => m.id === id);
  if (!entry) throw notFound(id);
  return { id: entry.id, version: entry.version, metrics: entry.metrics };
}

export async function setMetrics(
  id: string,
  metrics: ModelMetrics,
  dir = DEFAULT_REGISTRY_DIR,
): Promise<RegistryEntry> {
  const index = await readIndex(dir);
  const entry = index.models.find((m) => m.id === id);
  if (!entry) throw notFound(id);
  entry.metrics = metrics;
  await writeJson(path.join(dir, 'registry.json'), index);
  return entry;
}
