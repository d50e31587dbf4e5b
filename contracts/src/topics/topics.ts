// Topic layout (DESIGN.md §4): clutch/v1/{tenant}/{device}/{kind}[/{commandId}[/result]].
// Tenant comes first so that every ACL is a prefix check.

export const TOPIC_ROOT = 'clutch/v1';

export type TopicKind = 'telemetry' | 'dtc' | 'location' | 'status' | 'cmd' | 'cmd_result';

export interface TopicAddress {
  tenant: string;
  device: string;
  kind: TopicKind;
  /** Only for `cmd` and `cmd_result`. */
  commandId?: string;
}

const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

/** A topic segment we accept for tenant, device and command ids: no MQTT wildcards, no slashes. */
export function isValidSegment(value: string): boolean {
  return SEGMENT.test(value);
}

function assertSegment(name: string, value: string): void {
  if (!isValidSegment(value)) {
    throw new TypeError(`${name} must match ${SEGMENT.source}, got ${JSON.stringify(value)}`);
  }
}

export function buildTopic(address: TopicAddress): string {
  assertSegment('tenant', address.tenant);
  assertSegment('device', address.device);
  const base = `${TOPIC_ROOT}/${address.tenant}/${address.device}`;
  switch (address.kind) {
    case 'telemetry':
    case 'dtc':
    case 'location':
    case 'status':
      return `${base}/${address.kind}`;
    case 'cmd':
    case 'cmd_result': {
      const id = address.commandId ?? '';
      assertSegment('commandId', id);
      return address.kind === 'cmd' ? `${base}/cmd/${id}` : `${base}/cmd/${id}/result`;
    }
  }
}

/** Parses a concrete (wildcard-free) topic; null when it is not one of ours. */
export function parseTopic(topic: string): TopicAddress | null {
  const parts = topic.split('/');
  if (parts.length < 5 || parts[0] !== 'clutch' || parts[1] !== 'v1') return null;
  const [, , tenant, device, kind, commandId, result] = parts as [string, string, string, string, string, ...string[]];
  if (!isValidSegment(tenant) || !isValidSegment(device)) return null;
  if (parts.length === 5 && (kind === 'telemetry' || kind === 'dtc' || kind === 'location' || kind === 'status')) {
    return { tenant, device, kind };
  }
  if (kind === 'cmd' && commandId !== undefined && isValidSegment(commandId)) {
    if (parts.length === 6) return { tenant, device, kind: 'cmd', commandId };
    if (parts.length === 7 && result === 'result') return { tenant, device, kind: 'cmd_result', commandId };
  }
  return null;
}

/** Subscription filters used by the platform's own consumers. */
export const topicFilters = {
  allTelemetry: `${TOPIC_ROOT}/+/+/telemetry`,
  allStatus: `${TOPIC_ROOT}/+/+/status`,
  allLocation: `${TOPIC_ROOT}/+/+/location`,
  allDtc: `${TOPIC_ROOT}/+/+/dtc`,
  tenantTelemetry(tenant: string): string {
    assertSegment('tenant', tenant);
    return `${TOPIC_ROOT}/${tenant}/+/telemetry`;
  },
} as const;
