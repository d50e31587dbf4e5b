import type { Database } from '@clutch/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../test-fixtures.js';
import { assess } from './assess.js';
import { DEFAULT_FRAUD_CONFIG } from './config.js';
import { evaluate, generatePopulation, SCENARIOS, type Outcome } from './scenarios.js';

/**
 * The evaluation's generator in small (bench/src/fraud runs it in full): on a fixed seed, the full
 * scorer, storing as it goes like the inline check, catches every kind of injected fraud while
 * leaving ordinary customers alone. Behaviour, not timing.
 */
describe.each(backends('fraud_scenarios'))('injected fraud scenarios on %s', (_name, open) => {
  let db: Database;
  let outcomes: Outcome[];

  beforeAll(async () => {
    db = await open!();
    const attempts = generatePopulation({ seed: 20261203, users: 100, days: 21, incidentsPerScenario: 1 });
    outcomes = [];
    for (const attempt of attempts) {
      const r = await db.withTenant(attempt.input.tenantId, (q) =>
        assess(q, attempt.input, { config: DEFAULT_FRAUD_CONFIG }),
      );
      outcomes.push({ attempt, decision: r.decision });
    }
  }, 240_000);
  afterAll(async () => {
    await db?.close();
  });

  it('flags every injected scenario type', () => {
    const { metrics } = evaluate(outcomes);
    for (const scenario of SCENARIOS) {
      const m = metrics.find((x) => x.scenario === scenario)!;
      expect(m.incidents, scenario).toBe(1);
      expect(m.incidentsCaught, scenario).toBe(1);
    }
  });

  it('blocks the card-testing burst before it ends', () => {
    const burst = outcomes.filter((o) => o.attempt.scenario === 'card_testing');
    expect(burst.at(-1)!.decision).toBe('block');
  });

  it('leaves almost every ordinary attempt alone', () => {
    const { falsePositiveRate } = evaluate(outcomes);
    const ordinary = outcomes.filter((o) => o.attempt.scenario === null).length;
    expect(ordinary).toBeGreaterThan(300);
    expect(falsePositiveRate).toBeLessThan(0.01);
  });
});
