import { describe, expect, it } from 'vitest';
import { localEmitter, SPLIT_CACHE_TOPICS } from './local-emitter.js';

/** The listeners (by name) a message on `topic` reaches; mqemitter calls them before emit returns. */
function reached(mq: ReturnType<typeof localEmitter>, topic: string, log: string[]): string[] {
  log.length = 0;
  mq.emit({ topic });
  return [...log].sort();
}

describe('local emitter (router with kept topic splits)', () => {
  it('routes by the subscriptions of the moment, however often a topic was routed before', async () => {
    const mq = localEmitter();
    const log: string[] = [];
    const listener = (name: string) => (_message: unknown, done: () => void) => {
      log.push(name);
      done();
    };
    const exact = listener('exact');
    mq.on('t/acme/dev-1/telemetry', exact);
    mq.on('t/+/dev-1/telemetry', listener('one-level'));
    for (let i = 0; i < 3; i++) expect(reached(mq, 't/acme/dev-1/telemetry', log)).toEqual(['exact', 'one-level']);
    mq.on('t/acme/#', listener('rest'));
    expect(reached(mq, 't/acme/dev-1/telemetry', log)).toEqual(['exact', 'one-level', 'rest']);
    // [MQTT-4.7.1-2] `#` also matches the parent level; `+` matches an empty level.
    expect(reached(mq, 't/acme', log)).toEqual(['rest']);
    expect(reached(mq, 't//dev-1/telemetry', log)).toEqual(['one-level']);
    await new Promise<void>((resolve) => mq.removeListener('t/acme/dev-1/telemetry', exact, resolve));
    expect(reached(mq, 't/acme/dev-1/telemetry', log)).toEqual(['one-level', 'rest']);
    // A topic is split by its own levels, not a cached look-alike: more topics than are kept, then the first again.
    for (let i = 0; i <= SPLIT_CACHE_TOPICS; i++) expect(reached(mq, `t/acme/dev-${i}/x`, log)).toEqual(['rest']);
    expect(reached(mq, 't/acme/dev-1/telemetry', log)).toEqual(['one-level', 'rest']);
    expect(reached(mq, 't/other/dev-1/telemetry', log)).toEqual(['one-level']);
  });
});
