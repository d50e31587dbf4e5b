import { learnIntoSketch, createSketch, isSketch, sketchQuantile, type Sketch } from './sketch.js';

/**
 * This car's own manifold-pressure model: MAP over a 30 s window from what the car reports (rpm
 * and throttle, plus calculated load when present), fitted by least squares from running sums so it
 * learns as the car drives, in constant memory. Quadratic terms let one form cover a naturally
 * aspirated engine (MAP follows throttle into vacuum) and a turbo (boost rises with rpm and throttle).
 */
export interface LeastSquares {
  /** Windows summed (scaled down once it reaches the cap: bounded weight, slow drift). */
  n: number;
  /** X'X, symmetric: its upper triangle row by row, k·(k+1)/2 values (half the JSON of the square). */
  xtx: number[];
  xty: number[];
}

export interface MapModelState {
  /** [1, krpm, thr, krpm·thr, krpm², thr², speed, speed·krpm] (thr = throttle/100, speed in 100 km/h) */
  basic: LeastSquares;
  /** basic + [load/100, load/100·krpm] for cars that report engine.load. */
  withLoad: LeastSquares;
  /**
   * Residuals (kPa) of windows scored against the fit as it stood then, at idle and moving apart:
   * idle pressure is steady, so a drift shows there long before it stands out of the driving scatter.
   */
  residualBasic: Sketch[];
  residualWithLoad: Sketch[];
  /**
   * The mean residual of each span of MAP_SPAN learned moving windows (5 min): how far this car's
   * MAP can sit from its own model for minutes on end. The driver's foot averages out over that
   * span, a drifting sensor does not.
   */
  sustained: Sketch;
}

/** Learned windows (30 s each) in one sustained span. */
export const MAP_SPAN = 10;

const BASIC_K = 8;
const LOAD_K = 10;
const CAP = 20_000;
/** The residual band is read at 1 % and 99 %: these sketches keep the finer resolution. */
const RESIDUAL_BINS = 16;
/** Windows before the fit is trusted enough to score residuals against it. */
export const MAP_MIN_WINDOWS = 60;

/** Values in the upper triangle of a k×k matrix. */
const packed = (k: number): number => (k * (k + 1)) / 2;

/** Position of (i, j), i ≤ j, in the packed upper triangle. */
const at = (k: number, i: number, j: number): number => i * k - (i * (i - 1)) / 2 + (j - i);

function createLs(k: number): LeastSquares {
  return { n: 0, xtx: new Array<number>(packed(k)).fill(0), xty: new Array<number>(k).fill(0) };
}

export function createMapModel(): MapModelState {
  return {
    basic: createLs(BASIC_K),
    withLoad: createLs(LOAD_K),
    residualBasic: [createSketch(), createSketch()],
    residualWithLoad: [createSketch(), createSketch()],
    sustained: createSketch(),
  };
}

export interface MapInputs {
  rpm: number;
  throttle: number;
  speed: number;
  load: number;
  idle: boolean;
}

function regressors(x: MapInputs, withLoad: boolean): number[] | null {
  const krpm = x.rpm / 1000;
  const thr = x.throttle / 100;
  const v = x.speed / 100;
  if (!Number.isFinite(krpm) || !Number.isFinite(thr) || !Number.isFinite(v)) return null;
  const base = [1, krpm, thr, krpm * thr, krpm * krpm, thr * thr, v, v * krpm];
  if (!withLoad) return base;
  const load = x.load / 100;
  if (!Number.isFinite(load)) return null;
  return [...base, load, load * krpm];
}

function accumulate(ls: LeastSquares, x: number[], y: number): void {
  solved.delete(ls);
  const k = x.length;
  if (ls.n >= CAP) {
    const f = (CAP - 1) / ls.n;
    for (let i = 0; i < ls.xtx.length; i++) ls.xtx[i] = onGrid((ls.xtx[i] as number) * f, XTX_GRID);
    for (let i = 0; i < k; i++) ls.xty[i] = onGrid((ls.xty[i] as number) * f, XTY_GRID);
    ls.n *= f;
  }
  ls.n++;
  for (let i = 0; i < k; i++) {
    ls.xty[i] = onGrid((ls.xty[i] as number) + (x[i] as number) * y, XTY_GRID);
    for (let j = i; j < k; j++) {
      const p = at(k, i, j);
      ls.xtx[p] = onGrid((ls.xtx[p] as number) + (x[i] as number) * (x[j] as number), XTX_GRID);
    }
  }
}

/**
 * The running sums are kept on a fixed decimal grid (X'X to 1e-6, X'y in kPa to 1e-4): far below
 * anything the fit can resolve, and a sum then prints in about 10 digits of JSON instead of 17
 * (these sums were most of a stored normal). One multiply and round per term per learned window.
 */
const XTX_GRID = 1e6;
const XTY_GRID = 1e4;
const onGrid = (x: number, grid: number): number => Math.round(x * grid) / grid;

/**
 * Shortens the model's JSON in place before it is stored (learnNormalFromFrames, and the keeper
 * before a save): a basic fit that is exactly the load fit's leading block is stored once.
 */
export function compactMapModel(model: MapModelState): void {
  // A car that reports load in every window sums the same basic terms into both fits: the basic
  // one is then exactly the load fit's leading block, stored once (expandBasic restores it).
  const { basic, withLoad } = model;
  if (basic.n > 0 && basic.n === withLoad.n && sameBlock(model)) {
    basic.xtx = [];
    basic.xty = [];
  }
}

function sameBlock({ basic, withLoad }: MapModelState): boolean {
  for (let i = 0; i < BASIC_K; i++) {
    if (basic.xty[i] !== withLoad.xty[i]) return false;
    for (let j = i; j < BASIC_K; j++) if (basic.xtx[at(BASIC_K, i, j)] !== withLoad.xtx[at(LOAD_K, i, j)]) return false;
  }
  return true;
}

/** Restores a basic fit stored as the load fit's leading block (compactMapModel) before use. */
function expandBasic(model: MapModelState): void {
  const { basic, withLoad } = model;
  if (basic.xty.length === BASIC_K) return;
  solved.delete(basic);
  basic.xtx = new Array<number>(packed(BASIC_K));
  basic.xty = withLoad.xty.slice(0, BASIC_K);
  for (let i = 0; i < BASIC_K; i++)
    for (let j = i; j < BASIC_K; j++) basic.xtx[at(BASIC_K, i, j)] = withLoad.xtx[at(LOAD_K, i, j)] as number;
}

/**
 * Solved weights per least-squares state, until the next window is summed into it: a window asks
 * for the same fit several times (learning, the residual ring, the check). Only this module changes
 * the sums (accumulate drops the entry); a state parsed or cloned anew is a new key.
 */
const solved = new WeakMap<LeastSquares, number[] | null>();

function solveCached(ls: LeastSquares): number[] | null {
  let w = solved.get(ls);
  if (w === undefined) solved.set(ls, (w = solve(ls)));
  return w;
}

/** Normal equations with a whisper of ridge (a car that never left idle still solves), pivoting. */
function solve(ls: LeastSquares): number[] | null {
  const k = ls.xty.length;
  const a: number[][] = [];
  for (let i = 0; i < k; i++) {
    const row = new Array<number>(k);
    for (let j = 0; j < k; j++) row[j] = ls.xtx[i <= j ? at(k, i, j) : at(k, j, i)] as number;
    a.push(row);
  }
  const b = [...ls.xty];
  for (let i = 0; i < k; i++) (a[i] as number[])[i] = ((a[i] as number[])[i] as number) + 1e-6 * ls.n + 1e-9;
  for (let col = 0; col < k; col++) {
    let p = col;
    for (let r = col + 1; r < k; r++)
      if (Math.abs((a[r] as number[])[col] as number) > Math.abs((a[p] as number[])[col] as number)) p = r;
    [a[col], a[p]] = [a[p] as number[], a[col] as number[]];
    [b[col], b[p]] = [b[p] as number, b[col] as number];
    const pivot = (a[col] as number[])[col] as number;
    if (Math.abs(pivot) < 1e-12) return null;
    for (let r = col + 1; r < k; r++) {
      const m = ((a[r] as number[])[col] as number) / pivot;
      if (m === 0) continue;
      for (let c = col; c < k; c++)
        (a[r] as number[])[c] = ((a[r] as number[])[c] as number) - m * ((a[col] as number[])[c] as number);
      b[r] = (b[r] as number) - m * (b[col] as number);
    }
  }
  const w = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    let s = b[i] as number;
    for (let c = i + 1; c < k; c++) s -= ((a[i] as number[])[c] as number) * (w[c] as number);
    w[i] = s / ((a[i] as number[])[i] as number);
  }
  return w.every(Number.isFinite) ? w : null;
}

const dot = (w: number[], x: number[]): number => w.reduce((s, wi, i) => s + wi * (x[i] as number), 0);

/** Which variant applies to this window: with load when the car reports it and the fit has data. */
function variant(model: MapModelState, x: MapInputs): 'withLoad' | 'basic' {
  return Number.isFinite(x.load) && model.withLoad.n >= MAP_MIN_WINDOWS ? 'withLoad' : 'basic';
}

/** Learns one healthy window's means. */
export function learnMapWindow(model: MapModelState, x: MapInputs, map: number, slow = false): void {
  if (!Number.isFinite(map)) return;
  expandBasic(model);
  for (const v of ['basic', 'withLoad'] as const) {
    const r = regressors(x, v === 'withLoad');
    if (!r) continue;
    const ls = model[v];
    if (ls.n >= MAP_MIN_WINDOWS) {
      const w = solveCached(ls);
      const sketches = v === 'basic' ? model.residualBasic : model.residualWithLoad;
      if (w) learnIntoSketch(sketches[x.idle ? 0 : 1] as Sketch, map - dot(w, r), slow, RESIDUAL_BINS);
    }
    accumulate(ls, r, map);
  }
}

export interface MapExpectation {
  expected: number;
  /** Residual band 98 % of this car's healthy windows stay inside (kPa, before the check's margin). */
  low: number;
  high: number;
  usesLoad: boolean;
}

/** Expected MAP for a window, or null while the model has too little of this car's data. */
export function expectMap(model: MapModelState, x: MapInputs): MapExpectation | null {
  expandBasic(model);
  const v = variant(model, x);
  const r = regressors(x, v === 'withLoad');
  const ls = model[v];
  const residuals = (v === 'basic' ? model.residualBasic : model.residualWithLoad)[x.idle ? 0 : 1] as Sketch;
  if (!r || ls.n < MAP_MIN_WINDOWS || residuals.count < MAP_MIN_WINDOWS / 4) return null;
  const w = solveCached(ls);
  if (!w) return null;
  return {
    expected: dot(w, r),
    low: sketchQuantile(residuals, 0.01),
    high: sketchQuantile(residuals, 0.99),
    usesLoad: v === 'withLoad',
  };
}

export function mapModelWindows(model: MapModelState): number {
  return Math.max(model.basic.n, model.withLoad.n);
}

export function isMapModel(value: unknown): value is MapModelState {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  const ls = (x: unknown, k: number): boolean => {
    if (typeof x !== 'object' || x === null) return false;
    const l = x as Record<string, unknown>;
    const nums = (a: unknown, len: number): boolean =>
      Array.isArray(a) && a.length === len && a.every((v) => typeof v === 'number' && Number.isFinite(v));
    return typeof l.n === 'number' && Number.isFinite(l.n) && nums(l.xtx, packed(k)) && nums(l.xty, k);
  };
  // The basic fit may be stored as the load fit's leading block (compactMapModel): empty, same n.
  const sharesBlock = (b: unknown, w: unknown): boolean => {
    const l = b as Record<string, unknown> | null;
    return (
      typeof l === 'object' &&
      l !== null &&
      Array.isArray(l.xtx) &&
      l.xtx.length === 0 &&
      Array.isArray(l.xty) &&
      l.xty.length === 0 &&
      typeof l.n === 'number' &&
      l.n > 0 &&
      l.n === (w as { n?: unknown } | null)?.n
    );
  };
  return (
    (ls(m.basic, BASIC_K) || (ls(m.withLoad, LOAD_K) && sharesBlock(m.basic, m.withLoad))) &&
    ls(m.withLoad, LOAD_K) &&
    [m.residualBasic, m.residualWithLoad].every((r) => Array.isArray(r) && r.length === 2 && r.every(isSketch)) &&
    isSketch(m.sustained)
  );
}
