import { describe, expect, it } from 'vitest';
import type { Decision } from './policy.js';
import { createPublishDecisions } from './publish-decisions.js';

describe('publish decisions kept per connection', () => {
  const judging = () => {
    const judged: string[] = [];
    const judge = (topic: string): Decision => {
      judged.push(topic);
      return topic.startsWith('mine/') ? { ok: true } : { ok: false, reason: `not yours: ${topic}` };
    };
    return { judged, judge };
  };

  it('judges a topic once per connection and keeps refusals as refusals', () => {
    const decisions = createPublishDecisions<object>();
    const { judged, judge } = judging();
    const car = {};
    for (let i = 0; i < 3; i++) {
      expect(decisions.decide(car, 'mine/telemetry', judge)).toEqual({ ok: true });
      expect(decisions.decide(car, 'theirs/telemetry', judge)).toEqual({
        ok: false,
        reason: 'not yours: theirs/telemetry',
      });
    }
    expect(judged).toEqual(['mine/telemetry', 'theirs/telemetry']);
  });

  it('never lends one connection the decision of another, nor a new connection the old one', () => {
    const decisions = createPublishDecisions<object>();
    const { judged, judge } = judging();
    decisions.decide({}, 'mine/telemetry', judge);
    decisions.decide({}, 'mine/telemetry', judge); // the same client reconnected: a new connection object
    expect(judged).toEqual(['mine/telemetry', 'mine/telemetry']);
  });

  it('starts again past its bound, so a connection cycling topics cannot grow it', () => {
    const decisions = createPublishDecisions<object>(2);
    const { judged, judge } = judging();
    const car = {};
    for (const topic of ['mine/a', 'mine/b', 'mine/c', 'mine/a']) decisions.decide(car, topic, judge);
    expect(judged).toEqual(['mine/a', 'mine/b', 'mine/c', 'mine/a']);
  });
});
