import { sae1979Signalset } from '@clutch/firmware-profiles';
import { describe, expect, it } from 'vitest';
import { buildPollPlan, markRead, nextRequest } from './poll-plan.js';

const set = sae1979Signalset();
const supported = new Set([0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0f, 0x11, 0x2f]);

describe('polling plan', () => {
  it('asks for up to six PIDs on CAN with the expected-frame-count digit (ELM327 DS, SAE J1979 §8.1.2)', () => {
    const plan = buildPollPlan(set, supported, 0);
    const request = nextRequest(
      plan.filter((p) => p.pid !== 'ATRV'),
      set,
      0,
      true,
    )!;
    expect(request.items).toHaveLength(6);
    // 41 + six PIDs with their data: 1 + (1+1)+(1+1)+(1+1)+(1+2)+(1+1)+(1+1) = 16 bytes -> FF + 2 CFs = 3 frames
    const pids = request.items.map((i) => i.pid).join('');
    expect(request.command).toMatch(new RegExp(`^01${pids}[1-9A-F]$`));
    const payload = 1 + request.items.reduce((n, i) => n + 1 + (i.pid === '0C' ? 2 : 1), 0);
    expect(request.command.at(-1)).toBe(String(payload <= 7 ? 1 : 1 + Math.ceil((payload - 6) / 7)));
  });
  it('asks for one PID without a count digit on the legacy buses', () => {
    const plan = buildPollPlan(set, supported, 0).filter((p) => p.pid !== 'ATRV');
    expect(nextRequest(plan, set, 0, false)!.command).toMatch(/^01[0-9A-F]{2}$/);
  });
  it('honours per-PID overrides and scale, and never re-reads a late PID back to back', () => {
    const plan = buildPollPlan(set, supported, 0, { scale: 0.5, periodsMs: { '0c': 100, '05': 0 } });
    expect(plan.find((p) => p.pid === '0C')?.periodMs).toBe(100);
    expect(plan.find((p) => p.pid === '05')).toBeUndefined();
    const rpm = plan.find((p) => p.pid === '0C')!;
    markRead(rpm, 10_000); // ran 10 s late
    expect(rpm.nextDueMs).toBe(10_050);
  });
});
