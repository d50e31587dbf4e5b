import type { FraudConfig } from './config.js';
import type { BlockSubject } from './hash.js';
import type { RiskDecision, RiskReason, RiskSubjectKind } from './types.js';

/**
 * The pure half of the scorer (docs/fraud.md): features in, score, decision and reasons out. No
 * database, no clock; features.ts gathers the features in one query, assess.ts stores the result.
 */

/** One earlier attempt of the same user in the same currency, newest first. */
export interface HistoryEntry {
  amountMinor: number;
  /** Unix seconds. */
  at: number;
  ipCountry: string | null;
  cardCountry: string | null;
  decision: RiskDecision;
}

/**
 * What the scorer sees of one attempt. Counts are of stored attempts in the window, without the
 * current one; "others" counts leave the current account out, `userCards*` the current card.
 */
export interface RiskFeatures {
  kind: RiskSubjectKind;
  amountMinor: number;
  /** Unix seconds. */
  at: number;
  user10m: number;
  user24h: number;
  userAmount10m: number;
  userAmount24h: number;
  userCards24h: number;
  userCards30d: number;
  hasDevice: boolean;
  deviceSeen: boolean;
  device10m: number;
  device24h: number;
  deviceUsers24h: number;
  hasCard: boolean;
  card10m: number;
  card24h: number;
  cardUsers30d: number;
  hasIp: boolean;
  ip10m: number;
  ipUsers24h: number;
  ipCountry: string | null;
  cardCountry: string | null;
  /** Subjects of the attempt that are on the blocklist now. */
  blocked: BlockSubject[];
  history: HistoryEntry[];
}

export interface Scored {
  score: number;
  decision: RiskDecision;
  reasons: RiskReason[];
  /** The anomaly score on its own (0..1), also when the config leaves it out of the score. */
  anomaly: number;
  /** Subjects a `block` decision blocks automatically (docs/fraud.md, "Blocking"). */
  autoBlock: BlockSubject[];
}

const clamp01 = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);
const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median and the MAD scaled to a normal's standard deviation (1.4826 · MAD). */
export function robustCentre(values: readonly number[]): { centre: number; scale: number } {
  const centre = median(values);
  const scale = 1.4826 * median(values.map((v) => Math.abs(v - centre)));
  return { centre, scale };
}

/**
 * The robust z of the log amount against the user's history, shrunk towards the population prior
 * while the history is short: with no history the amount is compared with what everybody pays
 * (a wide spread, so only extreme amounts stand out), with `priorStrength` rows half and half.
 */
export function amountZ(amountMinor: number, history: readonly HistoryEntry[], config: FraudConfig): number {
  if (amountMinor <= 0) return 0;
  const x = Math.log(amountMinor);
  const logs = history.filter((h) => h.amountMinor > 0 && h.decision !== 'block').map((h) => Math.log(h.amountMinor));
  const n = logs.length;
  const k = config.priorStrength;
  const prior = config.population;
  let centre = prior.logAmountMedian;
  let variance = prior.logAmountScale ** 2;
  if (n > 0) {
    const own = robustCentre(logs);
    // A floor on the user's spread: someone who always pays the same can still pay 30% more.
    const ownScale = Math.max(own.scale, 0.3);
    centre = (n * own.centre + k * prior.logAmountMedian) / (n + k);
    variance = (n * ownScale ** 2 + k * prior.logAmountScale ** 2) / (n + k);
  }
  return (x - centre) / Math.sqrt(variance);
}

/** The most frequent IP country of the history (the account's home), when it has at least three. */
export function homeCountry(history: readonly HistoryEntry[]): string | null {
  const counts = new Map<string, number>();
  for (const h of history) if (h.ipCountry) counts.set(h.ipCountry, (counts.get(h.ipCountry) ?? 0) + 1);
  let best: string | null = null;
  let bestCount = 0;
  for (const [country, count] of counts)
    if (count > bestCount || (count === bestCount && best !== null && country < best)) {
      best = country;
      bestCount = count;
    }
  return bestCount >= 3 ? best : null;
}

function velocity(
  f: RiskFeatures,
  config: FraudConfig,
): { level: number; subject: BlockSubject | null; detail: RiskReason['detail'] } {
  const l = config.limits;
  const candidates: [number, BlockSubject | null, string, number][] = [
    [overLimitScaled(f.user10m, l.user10m), 'user', 'user10m', f.user10m + 1],
    [overLimitScaled(f.user24h, l.user24h), 'user', 'user24h', f.user24h + 1],
  ];
  if (f.hasDevice) candidates.push([overLimitScaled(f.device10m, l.device10m), 'device', 'device10m', f.device10m + 1]);
  if (f.hasCard) {
    candidates.push([overLimitScaled(f.card10m, l.card10m), 'card', 'card10m', f.card10m + 1]);
    candidates.push([overLimitScaled(f.card24h, l.card24h), 'card', 'card24h', f.card24h + 1]);
  }
  if (f.hasIp) candidates.push([overLimitScaled(f.ip10m, l.ip10m), 'ip', 'ip10m', f.ip10m + 1]);
  let best = candidates[0]!;
  for (const c of candidates) if (c[0] > best[0]) best = c;
  return { level: best[0], subject: best[0] > 0 ? best[1] : null, detail: { window: best[2], attempts: best[3] } };
}

/** Past the limit the level grows linearly: 0 at the limit, 1 at three times it. */
function overLimitScaled(countBefore: number, limit: number): number {
  return clamp01(((countBefore + 1) / limit - 1) / 2);
}

function countryMismatch(f: RiskFeatures, home: string | null): { level: number; detail: RiskReason['detail'] } {
  const parts: number[] = [];
  const detail: RiskReason['detail'] = {};
  if (f.ipCountry && f.cardCountry && f.ipCountry !== f.cardCountry) {
    parts.push(0.5);
    detail.ipVsCard = true;
  }
  if (home && f.ipCountry && f.ipCountry !== home) {
    parts.push(0.7);
    detail.ipVsHome = true;
  }
  if (home && f.cardCountry && f.cardCountry !== home) {
    parts.push(0.4);
    detail.cardVsHome = true;
  }
  return { level: 1 - parts.reduce((p, x) => p * (1 - x), 1), detail };
}

/**
 * ln erfc(x) for x >= 0 (Numerical Recipes' erfcc: fractional error below 1.2e-7 everywhere, so
 * far tails keep their precision in logs).
 */
function lnErfc(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) - x * x + poly;
}

/** ln of the two-sided normal tail P(|Z| >= |z|). */
const lnTwoSided = (z: number): number => lnErfc(Math.abs(z) / Math.SQRT2);

/** ln P(N >= k) for N ~ Poisson(lambda), k >= 1. */
function lnPoissonTail(k: number, lambda: number): number {
  let term = Math.exp(-lambda);
  let below = 0;
  for (let j = 0; j < k; j++) {
    below += term;
    term *= lambda / (j + 1);
  }
  // For large k the complement loses precision: sum the tail directly then.
  if (below < 0.999) return Math.log(1 - below);
  let tail = 0;
  let t = term;
  for (let j = k; j < k + 200 && t > 0; j++) {
    tail += t;
    t *= lambda / (j + 1);
  }
  return Math.log(Math.max(tail, Number.MIN_VALUE));
}

/** ln of the survival of χ² with 2m degrees of freedom at x: e^(-x/2) Σ_{j<m} (x/2)^j / j!. */
function lnChiSquareEvenTail(x: number, m: number): number {
  const h = x / 2;
  let term = 1;
  let sum = 1;
  for (let j = 1; j < m; j++) {
    term *= h / j;
    sum += term;
  }
  return -h + Math.log(sum);
}

const hourOf = (t: number): number => (t % 86_400) / 3600;

/**
 * The anomaly score: how unusual this attempt is for this user, as the combined tail probability
 * of five tests of the user's own habits (Fisher's method: -2 Σ ln p against χ² with 10 degrees of
 * freedom):
 * - amount: robust z of the log amount, shrunk towards the population while the history is short
 *   (normal tail);
 * - hour of day: empirical tail of the circular distance from the user's usual hour;
 * - time since the previous attempt: empirical short-side tail among the user's own gaps;
 * - IP country: how rarely the user was seen from it (Laplace-smoothed frequency);
 * - attempts in the last 24 h: Poisson tail at twice the user's daily rate (people cluster).
 * Empirical tails never go below 1/(n+1), so a short history cannot look very anomalous; the
 * amount is the only parametric one, and it is shrunk. Score: 0 at a combined p of 1e-1, 1 at 1e-5.
 */
export function anomalyScore(f: RiskFeatures, config: FraudConfig): { score: number; lnP: number[] } {
  const n = f.history.length;
  const lnAmount = lnTwoSided(amountZ(f.amountMinor, f.history, config));
  let lnHour = 0;
  let lnGap = 0;
  let lnCountry = 0;
  let lnRate = 0;
  if (n >= 3) {
    const angles = f.history.map((h) => (hourOf(h.at) / 24) * 2 * Math.PI);
    const mean = Math.atan2(
      angles.reduce((s, a) => s + Math.sin(a), 0),
      angles.reduce((s, a) => s + Math.cos(a), 0),
    );
    const meanHour = ((((mean / (2 * Math.PI)) * 24) % 24) + 24) % 24;
    const dist = (h: number): number => {
      const d = Math.abs(h - meanHour) % 24;
      return Math.min(d, 24 - d);
    };
    const now = dist(hourOf(f.at));
    // Half an hour of slack: the same habit a few minutes later is not rarer.
    const asFar = f.history.filter((h) => dist(hourOf(h.at)) >= now - 0.5).length;
    lnHour = Math.log((asFar + 1) / (n + 1));

    const gaps: number[] = [];
    for (let i = 0; i + 1 < n; i++) gaps.push(f.history[i]!.at - f.history[i + 1]!.at);
    const gapNow = f.at - f.history[0]!.at;
    const asShort = gaps.filter((g) => g <= gapNow * 1.5).length;
    lnGap = Math.log((asShort + 1) / (gaps.length + 1));

    if (f.ipCountry) {
      const known = f.history.filter((h) => h.ipCountry !== null);
      const same = known.filter((h) => h.ipCountry === f.ipCountry).length;
      if (known.length >= 3) lnCountry = Math.min(0, Math.log((same + 1) / (known.length + 2)) + Math.log(2));
    }

    const spanDays = Math.max(1, (f.at - f.history[n - 1]!.at) / 86_400);
    const lambda = Math.max((2 * n) / spanDays, 0.3);
    lnRate = lnPoissonTail(f.user24h + 1, lambda);
  }
  const lnP = [lnAmount, lnHour, lnGap, lnCountry, lnRate];
  const x = -2 * lnP.reduce((s, v) => s + v, 0);
  const log10Tail = lnChiSquareEvenTail(x, lnP.length) / Math.LN10;
  return { score: clamp01((-log10Tail - 1) / 4), lnP: lnP.map((v) => round(v / Math.LN10, 2)) };
}

/** Score one attempt (docs/fraud.md): reasons with their weights, a noisy-OR of them, the decision. */
export function scoreRisk(f: RiskFeatures, config: FraudConfig): Scored {
  const w = config.weights;
  const reasons: RiskReason[] = [];
  const strongSubjects = new Set<BlockSubject>();
  const add = (code: string, weight: number, detail: RiskReason['detail'], subjects: BlockSubject[] = []): void => {
    if (weight < 0.005) return;
    reasons.push({ code, weight: round(weight), detail });
    if (weight >= config.autoBlockReasonWeight) for (const s of subjects) strongSubjects.add(s);
  };

  if (f.blocked.length > 0) {
    const others: BlockSubject[] = [];
    if (f.hasDevice && !f.blocked.includes('device')) others.push('device');
    if (f.hasCard && !f.blocked.includes('card')) others.push('card');
    if (!f.blocked.includes('user')) others.push('user');
    // Anything used together with a blocked subject is blocked with it.
    add('blocklisted', w.blocklisted, { subjects: [...f.blocked].sort().join(',') }, others);
  }

  const v = velocity(f, config);
  add('velocity', w.velocity * v.level, v.detail, v.subject ? [v.subject] : []);

  const z = amountZ(f.amountMinor, f.history, config);
  add('amount_vs_history', w.amountVsHistory * clamp01((z - 2) / 3), {
    z: round(z, 2),
    historyCount: f.history.length,
  });

  const home = homeCountry(f.history);
  const c = countryMismatch(f, home);
  add('country_mismatch', w.countryMismatch * c.level, c.detail);

  if (f.hasDevice && !f.deviceSeen) {
    const established = f.history.length >= 3;
    // A new device from abroad on an established account is the shape of an account takeover.
    const abroad = established && c.detail.ipVsHome === true;
    add('new_device', w.newDevice * (established ? 1 : 0.25) * (abroad ? 1.75 : 1), {
      establishedAccount: established,
      abroad,
    });
  }

  const l = config.limits;
  const cards = f.userCards24h + (f.hasCard ? 1 : 0);
  const cardAccounts = f.hasCard ? f.cardUsers30d + 1 : 0;
  const deviceAccounts = f.hasDevice ? f.deviceUsers24h + 1 : 0;
  const userCards = clamp01((cards - l.userCards24h) / 2);
  const sharedCard = clamp01((cardAccounts - l.cardUsers30d) / 2);
  const sharedDevice = 0.6 * clamp01((deviceAccounts - l.deviceUsers24h) / 3);
  const many = Math.max(userCards, sharedCard, sharedDevice);
  add(
    'many_cards',
    w.manyCards * many,
    { cardsOfUser24h: cards, accountsOnCard30d: cardAccounts, accountsOnDevice24h: deviceAccounts },
    many === sharedCard ? ['card'] : many === userCards ? ['user'] : ['device'],
  );

  const anomaly = anomalyScore(f, config);
  if (config.anomaly) {
    // log10 of each test's tail probability: the review queue sees which habit was broken.
    const [amount, hour, gap, country, rate] = anomaly.lnP;
    add('anomaly', w.anomaly * anomaly.score, {
      score: round(anomaly.score),
      log10pAmount: amount!,
      log10pHour: hour!,
      log10pGap: gap!,
      log10pCountry: country!,
      log10pRate: rate!,
    });
  }

  reasons.sort((a, b) => b.weight - a.weight || a.code.localeCompare(b.code));
  const score = round(1 - reasons.reduce((p, r) => p * (1 - r.weight), 1), 4);
  let decision: RiskDecision = score >= config.blockAt ? 'block' : score >= config.reviewAt ? 'review' : 'allow';
  // A booking (or hold) moves no money: only the blocklist refuses it; otherwise the worst is a
  // review, and the payment that follows is where a block belongs (docs/fraud.md, "Decisions").
  if (decision === 'block' && config.blockOnlyBlocklisted.includes(f.kind) && f.blocked.length === 0)
    decision = 'review';
  const autoBlock = decision === 'block' ? [...strongSubjects].filter((s) => s !== 'ip' || f.hasIp) : [];
  return { score, decision, reasons, anomaly: anomaly.score, autoBlock };
}
