import { describe, expect, it } from 'vitest';
import { DEFAULT_FRAUD_CONFIG, RULES_ONLY_CONFIG } from './config.js';
import {
  amountZ,
  anomalyScore,
  homeCountry,
  robustCentre,
  scoreRisk,
  type HistoryEntry,
  type RiskFeatures,
} from './score.js';

const DAY = 86_400;
const NOW = Date.parse('2026-11-20T12:00:00Z') / 1000;

/** A user who pays about 150.00 around noon UTC every other day from Germany. */
function habit(n: number, amount = 15_000): HistoryEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    amountMinor: Math.round(amount * (1 + ((i % 5) - 2) * 0.05)),
    at: NOW - (i + 1) * 2 * DAY + ((i % 3) - 1) * 1800,
    ipCountry: 'DE',
    cardCountry: 'DE',
    decision: 'allow' as const,
  }));
}

function features(over: Partial<RiskFeatures> = {}): RiskFeatures {
  return {
    kind: 'payment',
    amountMinor: 15_000,
    at: NOW,
    user10m: 0,
    user24h: 0,
    userAmount10m: 0,
    userAmount24h: 0,
    userCards24h: 0,
    userCards30d: 0,
    hasDevice: true,
    deviceSeen: true,
    device10m: 0,
    device24h: 0,
    deviceUsers24h: 0,
    hasCard: true,
    card10m: 0,
    card24h: 0,
    cardUsers30d: 0,
    hasIp: true,
    ip10m: 0,
    ipUsers24h: 0,
    ipCountry: 'DE',
    cardCountry: 'DE',
    blocked: [],
    history: habit(20),
    ...over,
  };
}

const codes = (f: RiskFeatures, config = DEFAULT_FRAUD_CONFIG) => scoreRisk(f, config).reasons.map((r) => r.code);

describe('robust statistics', () => {
  it('median and MAD ignore an outlier', () => {
    const { centre, scale } = robustCentre([1, 2, 3, 4, 1000]);
    expect(centre).toBe(3);
    expect(scale).toBeCloseTo(1.4826, 4);
  });

  it('compares an amount with the user’s habit, and with the population when there is none', () => {
    expect(Math.abs(amountZ(15_000, habit(20), DEFAULT_FRAUD_CONFIG))).toBeLessThan(0.5);
    expect(amountZ(300_000, habit(20), DEFAULT_FRAUD_CONFIG)).toBeGreaterThan(5);
    // No history: ten times the population's typical amount is unusual but not extreme.
    const fresh = amountZ(150_000, [], DEFAULT_FRAUD_CONFIG);
    expect(fresh).toBeGreaterThan(1.5);
    expect(fresh).toBeLessThan(3);
    expect(amountZ(0, habit(20), DEFAULT_FRAUD_CONFIG)).toBe(0);
  });

  it('finds the home country only with enough history', () => {
    expect(homeCountry(habit(3))).toBe('DE');
    expect(homeCountry(habit(2))).toBeNull();
  });
});

describe('scoreRisk', () => {
  it('allows the habit with no reasons', () => {
    const r = scoreRisk(features(), DEFAULT_FRAUD_CONFIG);
    expect(r.decision).toBe('allow');
    expect(r.reasons).toEqual([]);
    expect(r.score).toBe(0);
  });

  it('blocks a blocklisted subject and blocks what came with it', () => {
    const r = scoreRisk(features({ blocked: ['card'] }), DEFAULT_FRAUD_CONFIG);
    expect(r.decision).toBe('block');
    expect(r.reasons[0]).toMatchObject({ code: 'blocklisted', detail: { subjects: 'card' } });
    expect(r.autoBlock.sort()).toEqual(['device', 'user']);
  });

  it('grows velocity from the limit to three times it, and blocks the card of a testing burst', () => {
    expect(codes(features({ card10m: 2 }))).toEqual([]);
    const mid = scoreRisk(features({ card10m: 5 }), DEFAULT_FRAUD_CONFIG);
    expect(mid.reasons.find((r) => r.code === 'velocity')!.weight).toBeCloseTo(0.9 * 0.5, 3);
    const burst = scoreRisk(features({ card10m: 12 }), DEFAULT_FRAUD_CONFIG);
    expect(burst.decision).toBe('block');
    expect(burst.autoBlock).toEqual(['card']);
  });

  it('reviews a booking that would be blocked for velocity, and blocks it only on the blocklist', () => {
    expect(scoreRisk(features({ kind: 'booking', user10m: 20 }), DEFAULT_FRAUD_CONFIG).decision).toBe('review');
    expect(scoreRisk(features({ kind: 'booking', blocked: ['user'] }), DEFAULT_FRAUD_CONFIG).decision).toBe('block');
  });

  it('weighs a new device more from abroad on an established account (takeover shape)', () => {
    const home = scoreRisk(features({ deviceSeen: false }), DEFAULT_FRAUD_CONFIG);
    expect(home.reasons).toEqual([
      { code: 'new_device', weight: 0.2, detail: { establishedAccount: true, abroad: false } },
    ]);
    expect(home.decision).toBe('allow');
    const abroad = scoreRisk(features({ deviceSeen: false, ipCountry: 'NG' }), DEFAULT_FRAUD_CONFIG);
    expect(abroad.reasons.map((r) => r.code).sort()).toEqual(['country_mismatch', 'new_device']);
    expect(abroad.decision).toBe('review');
    // A brand-new account's new device means little.
    expect(
      scoreRisk(features({ deviceSeen: false, history: [] }), DEFAULT_FRAUD_CONFIG).reasons[0]!.weight,
    ).toBeCloseTo(0.05);
  });

  it('flags one card across many accounts and many cards on one user', () => {
    const shared = scoreRisk(features({ cardUsers30d: 3 }), DEFAULT_FRAUD_CONFIG);
    expect(shared.reasons[0]).toMatchObject({ code: 'many_cards', detail: { accountsOnCard30d: 4 } });
    expect(shared.decision).toBe('block');
    expect(shared.autoBlock).toEqual(['card']);
    expect(codes(features({ userCards24h: 1 }))).toEqual([]);
    expect(codes(features({ userCards24h: 3 }))).toContain('many_cards');
  });

  it('combines reasons as a noisy-OR, ordered by weight, and keeps the score in [0, 1]', () => {
    const r = scoreRisk(
      features({
        deviceSeen: false,
        ipCountry: 'NG',
        cardCountry: 'BR',
        amountMinor: 900_000,
        user10m: 30,
        blocked: ['ip'],
      }),
      DEFAULT_FRAUD_CONFIG,
    );
    expect(r.score).toBeLessThanOrEqual(1);
    expect(r.score).toBeCloseTo(1 - r.reasons.reduce((p, x) => p * (1 - x.weight), 1), 3);
    expect(r.reasons.map((x) => x.weight)).toEqual([...r.reasons.map((x) => x.weight)].sort((a, b) => b - a));
  });

  it('leaves the anomaly out of the rules-only baseline but still reports it', () => {
    const f = features({ amountMinor: 200_000 });
    const full = scoreRisk(f, DEFAULT_FRAUD_CONFIG);
    const rules = scoreRisk(f, RULES_ONLY_CONFIG);
    expect(full.reasons.map((r) => r.code)).toContain('anomaly');
    expect(rules.reasons.map((r) => r.code)).not.toContain('anomaly');
    expect(rules.anomaly).toBe(full.anomaly);
    expect(full.score).toBeGreaterThan(rules.score);
  });
});

describe('anomalyScore', () => {
  it('is near zero for the habit and for a brand-new account', () => {
    expect(anomalyScore(features(), DEFAULT_FRAUD_CONFIG).score).toBe(0);
    expect(anomalyScore(features({ history: [] }), DEFAULT_FRAUD_CONFIG).score).toBe(0);
  });

  it('rises with a burst far above the user’s daily rate, at an odd hour, from an odd country', () => {
    const burst = anomalyScore(
      features({ user24h: 7, at: NOW + 11 * 3600, ipCountry: 'VN', history: habit(20) }),
      DEFAULT_FRAUD_CONFIG,
    );
    expect(burst.score).toBeGreaterThan(0.5);
    expect(burst.lnP.every((p) => p <= 0)).toBe(true);
  });

  it('does not call a booking followed by its payment minutes later unusual for someone who always does that', () => {
    const pairs: HistoryEntry[] = habit(20).flatMap((h) => [h, { ...h, at: h.at - 180 }]);
    const r = anomalyScore(
      features({ at: NOW + 120, user24h: 1, history: [{ ...pairs[0]!, at: NOW }, ...pairs] }),
      DEFAULT_FRAUD_CONFIG,
    );
    expect(r.score).toBeLessThan(0.1);
  });
});
