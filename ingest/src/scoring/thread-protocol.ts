import type { ScoringStats } from './consumer.js';
import type { ScoringStore } from './store.js';

/** What the scoring thread is started with (threaded.ts -> worker.ts). */
export interface ScoringThreadData {
  /** The model registry to score with, watched every watchMs; absent: the health checks alone. */
  modelsDir?: string;
  watchMs: number;
  maxPendingRows?: number;
  turnBudgetMs?: number;
  saveNormalsEveryMs?: number;
}

/**
 * One commit's readings as they cross to the scoring thread: the columns (moved, not copied) and one
 * entry per run of one vehicle's readings, `bounds` holding each run's start and end.
 */
export interface OfferMessage {
  t: 'offer';
  feature: Int8Array;
  time: Float64Array;
  value: Float64Array;
  vehicles: string[];
  tenants: string[];
  bounds: Int32Array;
  rows: number;
}

export type StoreCall = {
  [K in keyof ScoringStore]: { op: K; args: Parameters<ScoringStore[K]> };
}[keyof ScoringStore];

export type ToThread =
  | OfferMessage
  | { t: 'idle'; id: number }
  | { t: 'refresh'; id: number }
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; message: string };

/** Counts the thread reports; `received` lets the owner count offers still in flight to it. */
export interface ThreadStats extends ScoringStats {
  received: number;
}

export type FromThread =
  | { t: 'ready'; modelVersion: string }
  | { t: 'stats'; stats: ThreadStats; modelVersion: string }
  | { t: 'done'; id: number; ok: true }
  | { t: 'done'; id: number; ok: false; message: string }
  | ({ t: 'call'; id: number } & StoreCall)
  | { t: 'log'; level: 'info' | 'warn' | 'error'; fields: object; message: string };
