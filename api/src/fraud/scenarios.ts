import { seededRandom } from '../partners/nearby-fixtures.js';
import type { RiskInput, RiskSubjectKind } from './types.js';

/**
 * A labelled population for evaluating the scorer (bench/src/fraud, scenarios.test.ts): users with
 * ordinary booking, payment and transfer habits over weeks, and injected fraud of five kinds in the
 * last week (docs/fraud.md, "Evaluation"). Deterministic for a seed.
 */

export const SCENARIOS = ['card_testing', 'account_takeover', 'shared_card', 'amount_spike', 'velocity_abuse'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface LabelledAttempt {
  input: RiskInput & { at: Date };
  /** null: an ordinary attempt. */
  scenario: Scenario | null;
  /** Which injected incident it belongs to (all attempts of one card-testing burst share it). */
  incident: string | null;
}

export interface PopulationOptions {
  seed: number;
  users: number;
  days: number;
  /** Incidents of each scenario (default: about one per 150 users, at least 1). */
  incidentsPerScenario?: number;
  start?: Date;
}

interface Country {
  code: string;
  /** Hours ahead of UTC (people act in their daytime). */
  offset: number;
  currency: string;
}

const COUNTRIES: readonly Country[] = [
  { code: 'EG', offset: 2, currency: 'EGP' },
  { code: 'SA', offset: 3, currency: 'SAR' },
  { code: 'AE', offset: 4, currency: 'AED' },
  { code: 'DE', offset: 1, currency: 'EUR' },
  { code: 'FR', offset: 1, currency: 'EUR' },
  { code: 'GB', offset: 0, currency: 'GBP' },
];
/** Where attackers act from in the takeover and testing scenarios. */
const FOREIGN: readonly Country[] = [
  { code: 'NG', offset: 1, currency: 'EUR' },
  { code: 'VN', offset: 7, currency: 'EUR' },
  { code: 'BR', offset: -3, currency: 'EUR' },
  { code: 'US', offset: -6, currency: 'EUR' },
];

interface User {
  tenantId: string;
  userId: string;
  country: Country;
  devices: string[];
  cards: string[];
  ips: string[];
  /** ln of the user's typical amount (minor units). */
  logMedian: number;
  /** Attempts per week. */
  rate: number;
}

const DAY = 86_400_000;
const MINUTE = 60_000;

export function generatePopulation(options: PopulationOptions): LabelledAttempt[] {
  const random = seededRandom(options.seed);
  const start = (options.start ?? new Date('2026-09-01T00:00:00Z')).getTime();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const normal = (): number => {
    // Box-Muller
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  let ipSeq = 0;
  const ipOf = (): string => {
    ipSeq++;
    return `10.${(ipSeq >> 16) & 255}.${(ipSeq >> 8) & 255}.${ipSeq & 255}`;
  };
  const out: LabelledAttempt[] = [];
  const fleets = Math.max(1, Math.round(options.users / 40));

  const users: User[] = [];
  for (let i = 0; i < options.users; i++) {
    const country = pick(COUNTRIES);
    const fleet = random() < 0.2;
    const devices = Array.from({ length: 1 + Math.floor(random() * 3) }, () => `dev-${hex(12)}`);
    users.push({
      tenantId: fleet ? `fleet-${1 + Math.floor(random() * fleets)}` : 'consumers',
      userId: `user-${i}-${hex(6)}`,
      country,
      devices,
      cards: Array.from({ length: random() < 0.7 ? 1 : 2 }, () => `card-${hex(16)}`),
      ips: devices.map(() => ipOf()),
      logMedian: Math.log(15_000) + 0.8 * normal(),
      rate: 0.5 + random() * 3.5,
    });
  }
  // Families: a few cards are shared by two accounts (ordinary, not fraud).
  for (let i = 0; i + 1 < users.length; i += 25) users[i + 1]!.cards.push(users[i]!.cards[0]!);

  /** A time in the user's daytime (08:00-21:00 local) on day d. */
  const daytime = (d: number, country: Country): number => {
    const localHour = 8 + random() * 13;
    const utcHour = (localHour - country.offset + 24) % 24;
    return start + d * DAY + utcHour * 3_600_000;
  };
  const kind = (): RiskSubjectKind => {
    const x = random();
    return x < 0.4 ? 'booking' : x < 0.85 ? 'payment' : 'wallet_transfer';
  };
  const amount = (u: User, factor = 1): number =>
    Math.max(100, Math.round(Math.exp(u.logMedian + 0.35 * normal()) * factor));
  const push = (
    u: User,
    at: number,
    k: RiskSubjectKind,
    amountMinor: number,
    device: string,
    card: string | undefined,
    ip: string,
    ipCountry: string,
    cardCountry: string | undefined,
    scenario: Scenario | null = null,
    incident: string | null = null,
  ): void => {
    out.push({
      input: {
        kind: k,
        tenantId: u.tenantId,
        userId: u.userId,
        amountMinor,
        currency: u.country.currency,
        ip,
        ipCountry,
        deviceId: device,
        ...(card !== undefined ? { cardFingerprint: card, cardCountry } : {}),
        at: new Date(at),
      },
      scenario,
      incident,
    });
  };

  // Ordinary behaviour.
  for (const u of users) {
    for (let d = 0; d < options.days; d++) {
      if (random() >= u.rate / 7) continue;
      const at = daytime(d, u.country);
      const traveling = random() < 0.04;
      const ipCountry = traveling ? pick(COUNTRIES).code : u.country.code;
      // Now and then a new phone or a new card (ordinary novelty).
      if (random() < 0.01) u.devices.push(`dev-${hex(12)}`);
      if (random() < 0.005) u.cards.push(`card-${hex(16)}`);
      const device = random() < 0.8 ? u.devices[0]! : pick(u.devices);
      const ip = traveling ? ipOf() : (u.ips[Math.min(u.devices.indexOf(device), u.ips.length - 1)] ?? u.ips[0]!);
      const k = kind();
      const big = random() < 0.03 ? 3 + random() * 3 : 1;
      const card = k === 'wallet_transfer' ? undefined : pick(u.cards);
      const value = amount(u, big);
      push(u, at, k, value, device, card, ip, ipCountry, card ? u.country.code : undefined);
      // A booking is often paid right after.
      if (k === 'booking' && random() < 0.6)
        push(
          u,
          at + (1 + random() * 4) * MINUTE,
          'payment',
          value,
          device,
          card,
          ip,
          ipCountry,
          card ? u.country.code : undefined,
        );
    }
  }

  // Fraud, in the last week (the accounts have history by then).
  const per = options.incidentsPerScenario ?? Math.max(1, Math.round(options.users / 150));
  const lastWeek = (): number => Math.max(0, options.days - 7) + Math.floor(random() * Math.min(7, options.days));
  const established = (): User => {
    for (;;) {
      const u = pick(users);
      if (u.rate >= 1) return u;
    }
  };
  let incidents = 0;
  for (let n = 0; n < per; n++) {
    // Card testing: a fresh account, one device and IP abroad, many stolen cards, tiny amounts, minutes apart.
    {
      const id = `card_testing-${incidents++}`;
      const where = pick(FOREIGN);
      const u: User = { ...established(), userId: `tester-${hex(8)}`, tenantId: 'consumers' };
      const device = `dev-${hex(12)}`;
      const ip = ipOf();
      let at = daytime(lastWeek(), where);
      const attempts = 10 + Math.floor(random() * 20);
      for (let i = 0; i < attempts; i++) {
        at += (10 + random() * 50) * 1000;
        push(
          u,
          at,
          'payment',
          100 + Math.floor(random() * 400),
          device,
          `card-${hex(16)}`,
          ip,
          where.code,
          pick(COUNTRIES).code,
          'card_testing',
          id,
        );
      }
    }
    // Account takeover: an established user's account from a new device and country, their saved
    // card, bigger amounts than they pay, at the attacker's daytime.
    {
      const id = `account_takeover-${incidents++}`;
      const u = established();
      const where = pick(FOREIGN.filter((c) => c.code !== u.country.code));
      const device = `dev-${hex(12)}`;
      const ip = ipOf();
      let at = daytime(lastWeek(), where);
      const attempts = 1 + Math.floor(random() * 3);
      for (let i = 0; i < attempts; i++) {
        at += (2 + random() * 20) * MINUTE;
        const k = random() < 0.5 ? 'wallet_transfer' : 'payment';
        push(
          u,
          at,
          k,
          amount(u, 2 + random() * 4),
          device,
          k === 'payment' ? u.cards[0] : undefined,
          ip,
          where.code,
          k === 'payment' ? u.country.code : undefined,
          'account_takeover',
          id,
        );
      }
    }
    // One card across many accounts: the same stolen card pays for several accounts (each its own
    // device) over a couple of days.
    {
      const id = `shared_card-${incidents++}`;
      const card = `card-${hex(16)}`;
      const cardCountry = pick(COUNTRIES).code;
      let at = daytime(lastWeek(), COUNTRIES[0]!);
      const accounts = 4 + Math.floor(random() * 5);
      for (let i = 0; i < accounts; i++) {
        const u = random() < 0.5 ? established() : { ...established(), userId: `mule-${hex(8)}` };
        at += (20 + random() * 600) * MINUTE;
        push(
          u,
          at,
          'payment',
          amount(u),
          `dev-${hex(12)}`,
          card,
          ipOf(),
          u.country.code,
          cardCountry,
          'shared_card',
          id,
        );
      }
    }
    // Amount spike: the user's own device, card and country, an amount far above their habit.
    {
      const id = `amount_spike-${incidents++}`;
      const u = established();
      const at = daytime(lastWeek(), u.country);
      push(
        u,
        at,
        'payment',
        amount(u, 15 + random() * 35),
        u.devices[0]!,
        u.cards[0],
        u.ips[0]!,
        u.country.code,
        u.country.code,
        'amount_spike',
        id,
      );
    }
    // Velocity abuse: many wallet transfers from the user's own device within half an hour.
    {
      const id = `velocity_abuse-${incidents++}`;
      const u = established();
      let at = daytime(lastWeek(), u.country);
      const attempts = 8 + Math.floor(random() * 10);
      for (let i = 0; i < attempts; i++) {
        at += (30 + random() * 150) * 1000;
        push(
          u,
          at,
          'wallet_transfer',
          amount(u),
          u.devices[0]!,
          undefined,
          u.ips[0]!,
          u.country.code,
          undefined,
          'velocity_abuse',
          id,
        );
      }
    }
  }
  return out.sort((a, b) => a.input.at.getTime() - b.input.at.getTime());
}

/** Precision, recall and F1 of `flagged` (a decision other than allow) against the labels. */
export interface Metrics {
  scenario: Scenario | 'overall';
  attempts: number;
  flagged: number;
  blocked: number;
  precision: number;
  recall: number;
  f1: number;
  /** Incidents with at least one attempt flagged. */
  incidentsCaught: number;
  incidents: number;
}

export interface Outcome {
  attempt: LabelledAttempt;
  decision: 'allow' | 'review' | 'block';
}

/**
 * Per scenario: recall over its attempts; precision one-against-normal (its flagged attempts
 * against them plus every flagged ordinary attempt), since a false alarm belongs to no scenario.
 * Overall: every fraud attempt against every ordinary one.
 */
export function evaluate(outcomes: readonly Outcome[]): { metrics: Metrics[]; falsePositiveRate: number } {
  const normal = outcomes.filter((o) => o.attempt.scenario === null);
  const falseAlarms = normal.filter((o) => o.decision !== 'allow').length;
  const measure = (name: Scenario | 'overall', mine: readonly Outcome[]): Metrics => {
    const flagged = mine.filter((o) => o.decision !== 'allow').length;
    const precision = flagged + falseAlarms === 0 ? 0 : flagged / (flagged + falseAlarms);
    const recall = mine.length === 0 ? 0 : flagged / mine.length;
    const byIncident = new Map<string, boolean>();
    for (const o of mine) {
      const key = o.attempt.incident!;
      byIncident.set(key, (byIncident.get(key) ?? false) || o.decision !== 'allow');
    }
    return {
      scenario: name,
      attempts: mine.length,
      flagged,
      blocked: mine.filter((o) => o.decision === 'block').length,
      precision,
      recall,
      f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
      incidentsCaught: [...byIncident.values()].filter(Boolean).length,
      incidents: byIncident.size,
    };
  };
  const metrics = SCENARIOS.map((s) =>
    measure(
      s,
      outcomes.filter((o) => o.attempt.scenario === s),
    ),
  );
  metrics.push(
    measure(
      'overall',
      outcomes.filter((o) => o.attempt.scenario !== null),
    ),
  );
  return { metrics, falsePositiveRate: normal.length === 0 ? 0 : falseAlarms / normal.length };
}
