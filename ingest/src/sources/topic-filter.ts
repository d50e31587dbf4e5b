/**
 * Whether `topic` matches the MQTT topic filter `filter` ('+' one level, '#' the rest). Topics
 * starting with '$' never match a filter starting with a wildcard. [MQTT-4.7.2-1]
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true; // [MQTT-4.7.1-2] also matches the parent level
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** A matcher for several filters at once. */
export function topicMatcher(filters: readonly string[]): (topic: string) => boolean {
  return (topic) => filters.some((f) => topicMatches(f, topic));
}
