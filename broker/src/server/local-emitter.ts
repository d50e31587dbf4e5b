import mqemitter from 'mqemitter';

/**
 * Topics whose split into levels the router keeps. Every PUBLISH is matched against the subscriptions
 * by its levels, and splitting the topic anew each time (an array and a string per level) was a tenth
 * of the broker's work per QoS 0 message after the GC: a device publishes thousands of times to the
 * same few topics. Kept first in, first out; with more topics than this in rotation every lookup
 * misses and the cache's upkeep comes on top of the split (4,096 kept cost a fleet of 8,000 cars, one
 * telemetry topic each, about 19 ms of CPU a second), so it holds a 10,000-car fleet's topics. Only
 * authorised topics get here (the policy judges a PUBLISH before it is routed).
 */
export const SPLIT_CACHE_TOPICS = 16_384;

/** aedes' default for the messages its router delivers at once (aedes' `concurrency` option). */
const AEDES_CONCURRENCY = 100;

/**
 * The single-process router (mqemitter), as aedes makes it when given none, but keeping topics'
 * splits (mqemitter's `cacheSplits`, our patch scripts/patches/mqemitter-7.1.0-b7-split-cache.patch).
 */
export function localEmitter(concurrency = AEDES_CONCURRENCY): mqemitter.MQEmitter {
  // [MQTT-4.7.1-3] `a/#` matches `a` (and empty levels count), as aedes sets it.
  return mqemitter({ concurrency, matchEmptyLevels: true, cacheSplits: SPLIT_CACHE_TOPICS });
}
