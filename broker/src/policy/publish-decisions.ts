import type { Decision } from './policy.js';

/** Topics remembered per connection; past this the memory starts again (a device uses a handful). */
export const MAX_TOPICS_PER_CONNECTION = 32;

/**
 * The publish decisions of each connection, by topic. Only decisions that are a pure function of the
 * connection's principal and the topic belong here (devices, API keys, admins, anonymous): the
 * principal is fixed for the connection's life, and whatever ends it (a revoked credential or key, an
 * expired one) ends the connection, and with it this memory. A signed-in user's decision rests on
 * grants and shares that change while connected, so it is never kept. Saves parsing and judging the
 * topic of every PUBLISH: a device sends thousands to the same four topics.
 */
export interface PublishDecisions<C extends object> {
  decide(connection: C, topic: string, judge: (topic: string) => Decision): Decision;
}

export function createPublishDecisions<C extends object>(maxTopics = MAX_TOPICS_PER_CONNECTION): PublishDecisions<C> {
  const byConnection = new WeakMap<C, Map<string, Decision>>();
  return {
    decide(connection, topic, judge) {
      let known = byConnection.get(connection);
      const kept = known?.get(topic);
      if (kept) return kept;
      const decision = judge(topic);
      if (!known) byConnection.set(connection, (known = new Map()));
      else if (known.size >= maxTopics) known.clear();
      known.set(topic, decision);
      return decision;
    },
  };
}
