/**
 * Whether `topic` matches the MQTT topic filter `filter` ('+' one level, '#' the rest). Topics
 * starting with '$' never match a filter starting with a wildcard. [MQTT-4.7.2-1]
 */
export function topicMatches(filter: string, topic: string): boolean {
  return matchLevels(filter.split('/'), topic);
}

/**
 * The filter's levels against the topic, walked in place: the broker asks this for every publish,
 * so the topic is not split into an array of strings each time.
 */
function matchLevels(f: readonly string[], topic: string): boolean {
  if (topic.startsWith('$') && (f[0]!.startsWith('+') || f[0]!.startsWith('#'))) return false;
  let pos = 0; // where the topic's current level starts; -1 once past its last level
  for (const level of f) {
    if (level === '#') return true; // [MQTT-4.7.1-2] also matches the parent level
    if (pos < 0) return false;
    const slash = topic.indexOf('/', pos);
    const end = slash < 0 ? topic.length : slash;
    if (level !== '+' && (end - pos !== level.length || !topic.startsWith(level, pos))) return false;
    pos = slash < 0 ? -1 : slash + 1;
  }
  return pos < 0;
}

/** A matcher for several filters at once, each split into levels once. */
export function topicMatcher(filters: readonly string[]): (topic: string) => boolean {
  const split = filters.map((f) => f.split('/'));
  return (topic) => {
    for (const f of split) if (matchLevels(f, topic)) return true;
    return false;
  };
}
