// What a hostile (or badly broken) device of another tenant sends: every message is for its own
// topics, so the broker's ACL lets it through and ingest must refuse it on its merits.
import { randomUUID } from 'node:crypto';

const now = (): number => Date.now();
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

/** [topic kind, payload] pairs; the caller prefixes `clutch/v1/{tenant}/{device}/`. */
export function hostileMessages(): [string, string][] {
  const t = now();
  const cmd = randomUUID();
  return [
    ['telemetry', JSON.stringify({ v: 1, seq: 1, t0: t, clockOffsetMs: 1e300, samples: [[0, 'engine.rpm', 800]] })],
    ['telemetry', JSON.stringify({ v: 1, seq: 2, t0: t, clockOffsetMs: -1e300, samples: [[0, 'engine.rpm', 800]] })],
    ['telemetry', JSON.stringify({ v: 1, seq: 3, t0: Date.UTC(2099, 0, 1), samples: [[0, 'engine.rpm', 800]] })],
    ['telemetry', JSON.stringify({ v: 1, seq: 4, t0: t, clockOffsetMs: 3e11, samples: [[0, 'engine.rpm', 800]] })],
    [
      'telemetry',
      JSON.stringify({
        v: 1,
        seq: 5,
        t0: t,
        samples: [
          [0, 'engine.rpm', 1e308],
          [0, 'vehicle.speed', -1e-308],
        ],
      }),
    ],
    ['telemetry', JSON.stringify({ v: 1, seq: 1e300, t0: t, samples: [[0, 'engine.rpm', 800]] })],
    ['telemetry', JSON.stringify({ v: 1, seq: -1, t0: -t, samples: [[-5, 'engine.rpm', 800]] })],
    [
      'telemetry',
      JSON.stringify({
        v: 1,
        seq: 6,
        t0: t,
        samples: Array.from({ length: 5000 }, (_, i) => [i, 'no.such.signal', i]),
      }),
    ],
    [
      'telemetry',
      JSON.stringify({
        v: 1,
        seq: 7,
        t0: t - 40 * 86_400_000,
        samples: Array.from({ length: 4000 }, (_, i) => [i, 'engine.rpm', 900]),
      }),
    ],
    ['telemetry', '{"v":1,"seq":8,"t0":'],
    ['telemetry', nested(5000)],
    ['telemetry', JSON.stringify({ v: 1, seq: '9', t0: String(t), samples: 'many' })],
    ['location', JSON.stringify({ v: 1, t: t, lat: 1e308, lon: -1e308 })],
    ['location', JSON.stringify({ v: 1, t: Date.UTC(2121, 0, 1), lat: 48.1, lon: 11.5 })],
    [
      'dtc',
      JSON.stringify({ v: 1, t: t, codes: Array.from({ length: 2000 }, () => ({ code: 'X9999', kind: 'stored' })) }),
    ],
    ['dtc', JSON.stringify({ v: 1, t: 1e300, codes: [] })],
    ['status', JSON.stringify({ v: 1, state: 'online', t: Number.MAX_VALUE })],
    ['status', '\u0000\u0001\u0002'],
    [`cmd/${cmd}/result`, JSON.stringify({ v: 1, id: randomUUID(), ok: true, t: t })],
  ];
}
