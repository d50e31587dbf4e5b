import { describe, expect, it } from 'vitest';
import { groupKeys, memberOf, parseMember } from './claim-scripts.js';

describe('shared-subscription members and keys in Redis', () => {
  it('reads back a member whose client id holds spaces and slashes', () => {
    const member = memberOf('6c1f1b9e-broker', 'acme/key-1/worker a b');
    expect(parseMember(member)).toEqual({ brokerId: '6c1f1b9e-broker', clientId: 'acme/key-1/worker a b' });
  });

  it('keeps a group in one Redis Cluster slot and apart from a group of the same name on another filter', () => {
    const one = groupKeys('$share/ingest/clutch/v1/acme/+/telemetry');
    const other = groupKeys('$share/ingest/clutch/v1/globex/+/telemetry');
    for (const key of [one.members, one.counter, one.claimPrefix])
      expect(key).toContain('{$share/ingest/clutch/v1/acme/+/telemetry}');
    expect(other.members).not.toBe(one.members);
  });
});
