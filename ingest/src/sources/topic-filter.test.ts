import { describe, expect, it } from 'vitest';
import { INGEST_FILTERS } from './message-source.js';
import { topicMatcher, topicMatches } from './topic-filter.js';

describe('topic filters', () => {
  it('matches + as one level and # as the rest, including the parent level', () => {
    expect(topicMatches('clutch/v1/+/+/telemetry', 'clutch/v1/acme/pi-1/telemetry')).toBe(true);
    expect(topicMatches('clutch/v1/+/+/telemetry', 'clutch/v1/acme/pi-1/telemetry/extra')).toBe(false);
    expect(topicMatches('clutch/v1/+/+/telemetry', 'clutch/v1/acme/telemetry')).toBe(false);
    expect(topicMatches('clutch/#', 'clutch')).toBe(true);
    expect(topicMatches('clutch/#', 'clutch/v1/acme/pi-1/status')).toBe(true);
    expect(topicMatches('clutch/+', 'clutch/')).toBe(true);
    expect(topicMatches('clutch/+', 'other/x')).toBe(false);
  });

  it('never matches a $-topic with a filter that starts with a wildcard [MQTT-4.7.2-1]', () => {
    expect(topicMatches('#', '$SYS/broker/load')).toBe(false);
    expect(topicMatches('+/broker/load', '$SYS/broker/load')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/broker/load')).toBe(true);
  });

  it("a matcher of several filters takes exactly the topics one of them matches (ingest's topics)", () => {
    const takes = topicMatcher(INGEST_FILTERS);
    for (const kind of ['telemetry', 'status', 'location', 'dtc'])
      expect(takes(`clutch/v1/acme/pi-1/${kind}`)).toBe(true);
    expect(takes('clutch/v1/acme/pi-1/cmd/42/result')).toBe(true);
    // Downlink commands, other kinds and other depths are not ingest's.
    expect(takes('clutch/v1/acme/pi-1/cmd/42')).toBe(false);
    expect(takes('clutch/v1/acme/pi-1/other')).toBe(false);
    expect(takes('clutch/v1/acme/telemetry')).toBe(false);
    expect(takes('clutch/v2/acme/pi-1/telemetry')).toBe(false);
    expect(takes('$clutch/v1/acme/pi-1/telemetry')).toBe(false);
  });

  it('agrees with the specification read level by level, on every combination of these filters and topics', () => {
    // The rules of MQTT 3.1.1 §4.7 written the plain way, as the reference.
    const reference = (filter: string, topic: string): boolean => {
      if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
      const f = filter.split('/');
      const t = topic.split('/');
      for (let i = 0; i < f.length; i++) {
        if (f[i] === '#') return true;
        if (i >= t.length) return false;
        if (f[i] !== '+' && f[i] !== t[i]) return false;
      }
      return f.length === t.length;
    };
    const filters = ['a/+/c', 'a/#', '+/b', '#', '+', 'x/y', 'a/b/c', '+/+', 'ab/c', '$x/#', '/+', '+/'];
    const topics = ['a/b/c', 'a', 'a/b', 'q/b', 'x/y', 'x/y/z', '$x/b', '', '/', 'a//c', 'ab/c', 'a/bc', 'abc', 'a/b/'];
    for (const filter of filters)
      for (const topic of topics)
        expect([filter, topic, topicMatches(filter, topic)]).toEqual([filter, topic, reference(filter, topic)]);
    const takes = topicMatcher(filters.slice(0, 4));
    for (const topic of topics) expect(takes(topic)).toBe(filters.slice(0, 4).some((f) => reference(f, topic)));
  });
});
