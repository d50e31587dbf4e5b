import { describe, expect, it } from 'vitest';
import { buildTopic, parseTopic, topicFilters } from './topics.js';

describe('topics', () => {
  it('round-trips every kind', () => {
    for (const kind of ['telemetry', 'dtc', 'location', 'status'] as const) {
      const topic = buildTopic({ tenant: 'acme', device: 'pi-1', kind });
      expect(topic).toBe(`clutch/v1/acme/pi-1/${kind}`);
      expect(parseTopic(topic)).toEqual({ tenant: 'acme', device: 'pi-1', kind });
    }
    expect(parseTopic(buildTopic({ tenant: 'acme', device: 'pi-1', kind: 'cmd', commandId: 'c1' }))).toEqual({
      tenant: 'acme',
      device: 'pi-1',
      kind: 'cmd',
      commandId: 'c1',
    });
    expect(buildTopic({ tenant: 'acme', device: 'pi-1', kind: 'cmd_result', commandId: 'c1' })).toBe(
      'clutch/v1/acme/pi-1/cmd/c1/result',
    );
  });

  it.each([
    'clutch/v1/acme/pi-1/unknown',
    'clutch/v2/acme/pi-1/telemetry',
    'clutch/v1/+/pi-1/telemetry',
    'clutch/v1/acme/pi-1',
    'clutch/v1/acme/pi-1/cmd',
    'clutch/v1/acme/pi-1/cmd/x/nope',
    'other/v1/acme/pi-1/telemetry',
    'clutch/v1/ac me/pi-1/telemetry',
  ])('rejects %s', (topic) => expect(parseTopic(topic)).toBeNull());

  it('refuses to build topics with wildcards or separators in ids', () => {
    expect(() => buildTopic({ tenant: 'acme/x', device: 'pi', kind: 'telemetry' })).toThrow(/tenant/);
    expect(() => buildTopic({ tenant: 'acme', device: '#', kind: 'telemetry' })).toThrow(/device/);
    expect(() => topicFilters.tenantTelemetry('+')).toThrow();
    expect(topicFilters.tenantTelemetry('acme')).toBe('clutch/v1/acme/+/telemetry');
  });
});
