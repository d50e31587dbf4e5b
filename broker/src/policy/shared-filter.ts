/**
 * The filter the tenant policy judges for a SUBSCRIBE: a shared subscription `$share/{group}/{filter}`
 * ([MQTT-4.8.2]) is judged by its filter, exactly as a plain subscription to that filter would be,
 * so sharing a stream never reaches more than subscribing to it. `null` for a malformed share.
 */
export function policyFilter(topic: string): string | null {
  if (!topic.startsWith('$share/')) return topic;
  const rest = topic.slice('$share/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const group = rest.slice(0, slash);
  const filter = rest.slice(slash + 1);
  // [MQTT-4.8.2-1] [MQTT-4.8.2-2] a share name without wildcards, then a non-empty filter.
  if (group.includes('+') || group.includes('#') || filter === '' || filter.startsWith('$share/')) return null;
  return filter;
}
