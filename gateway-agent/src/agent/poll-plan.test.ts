import { sae1979Signalset } from '@clutch/firmware-profiles';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadSignalsetFile } from '@clutch/firmware-profiles';
import type { SignalDefinition } from '@clutch/contracts';
import { buildPollPlan, headerGroup, markFailed, markRead, nextRequest, vehicleCommands } from './poll-plan.js';

const set = sae1979Signalset();
const supported = new Set([0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0f, 0x11, 0x2f]);
const can = { isCan: true };

describe('polling plan', () => {
  it('asks for up to six PIDs on CAN with the expected-frame-count digit (ELM327 DS, SAE J1979 §8.1.2)', () => {
    const plan = buildPollPlan(set, supported, 0);
    const request = nextRequest(
      plan.filter((p) => p.pid !== 'ATRV'),
      set,
      0,
      can,
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
    expect(nextRequest(plan, set, 0, { isCan: false })!.command).toMatch(/^01[0-9A-F]{2}$/);
  });
  it('asks PIDs that may not share a request one by one, with or without the count digit as allowed', () => {
    const plan = buildPollPlan(set, supported, 0).filter((p) => p.pid !== 'ATRV');
    const single = nextRequest(plan, set, 0, { isCan: true, multiAllowed: () => false })!;
    expect(single.items).toHaveLength(1);
    expect(single.command).toMatch(/^01[0-9A-F]{2}1$/);
    const bare = nextRequest(plan, set, 0, { isCan: true, multiAllowed: () => false, countDigit: () => false })!;
    expect(bare.command).toMatch(/^01[0-9A-F]{2}$/);
    // A PID that may not share (say, its ECU refuses multi-PID) does not stop the others sharing.
    const mixed = nextRequest(plan, set, 0, { isCan: true, multiAllowed: (pid) => pid !== plan[0]!.pid })!;
    expect(mixed.items.map((i) => i.pid)).toEqual([plan[0]!.pid]);
    expect(
      nextRequest(plan.slice(1), set, 0, { isCan: true, multiAllowed: (pid) => pid !== plan[0]!.pid })!.items,
    ).toHaveLength(6);
  });
  it('honours per-PID overrides and scale, and never re-reads a late PID back to back', () => {
    const plan = buildPollPlan(set, supported, 0, { scale: 0.5, periodsMs: { '0c': 100, '05': 0 } });
    expect(plan.find((p) => p.pid === '0C')?.periodMs).toBe(100);
    expect(plan.find((p) => p.pid === '05')).toBeUndefined();
    const rpm = plan.find((p) => p.pid === '0C')!;
    markRead(rpm, 10_000); // ran 10 s late
    expect(rpm.nextDueMs).toBe(10_050);
  });
  it('backs a failing PID off exponentially up to the cap, asks it alone, and forgets on success', () => {
    const plan = buildPollPlan(set, supported, 0).filter((p) => p.pid !== 'ATRV');
    const rpm = plan.find((p) => p.pid === '0C')!; // 250 ms period
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      markFailed(rpm, 0, { baseMs: 1000, capMs: 60_000 });
      waits.push(rpm.nextDueMs);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    rpm.nextDueMs = 0;
    expect(nextRequest(plan, set, 0, can)!.items).toEqual([rpm]);
    markRead(rpm, 0);
    expect(rpm.failures).toBe(0);
  });
});

describe('vehicle commands (OBDb profile Mode 21/22)', () => {
  const camry = loadSignalsetFile(
    fileURLToPath(new URL('../../../firmware-profiles/profiles/vehicles/Toyota-Camry.default.json', import.meta.url)),
  );
  // Stands in for the contracts catalogue: every Camry signal has an entry.
  const signalFor = (id: string): SignalDefinition | undefined =>
    id.startsWith('CAMRY_')
      ? { id: 10_000, key: `vehicle.${id.toLowerCase()}`, name: id, source: 'obd', unit: '', min: -1e9, max: 1e9 }
      : undefined;
  const profile = { signalset: camry, modelYear: 2019, protocol: '6', signalFor };

  it('polls the Mode 21/22 commands at their freq, extended-addressing ones with ATCEA/ATTA and their own flow control', () => {
    const { commands, skipped } = vehicleCommands(profile);
    expect(commands.length).toBeGreaterThan(50);
    expect(commands.every((c) => /^2[12]/.test(c.request) && c.header.length === 3)).toBe(true);
    expect(commands.find((c) => c.request === '221002')).toMatchObject({
      header: '700',
      rax: '708',
      receiveId: '708',
      addressing: { protocol: '6', header: '700', receive: '708', extended: '', tester: 'F1' },
    });
    expect(commands.find((c) => c.request === '2116')?.addressing).toEqual({
      protocol: '6',
      priority: '18',
      header: '750',
      receive: '758',
      extended: '2A',
      tester: '2A',
      flowControl: '750/300000',
      timeout: '96',
    });
    expect(skipped.filter((s) => s.reason !== 'no catalogue signal')).toEqual([]);
    // Not on a bus that is not ISO 15765-4 CAN (an ISO 9141 car has no such ECUs to reach this way).
    expect(vehicleCommands({ ...profile, protocol: '3' }).commands).toEqual([]);
    const plan = buildPollPlan(set, supported, 0, { vehicle: profile });
    expect(plan.find((p) => p.pid === '221002@700')?.periodMs).toBe(1000);
    expect(plan.find((p) => p.pid === '221017@700')?.periodMs).toBe(250);
    // Nothing of a car's own commands is polled when the catalogue knows none of its signals.
    expect(vehicleCommands({ ...profile, signalFor: () => undefined }).commands).toEqual([]);
  });

  it('takes period overrides for vehicle commands by plan key or by a signal catalogue key', () => {
    const plan = buildPollPlan(set, supported, 0, {
      vehicle: profile,
      periodsMs: {
        '221002@700': 400,
        // CAMRY_TIRE_T_RR is read by 2116 on 750 (extended addressing): off by its signal key.
        'vehicle.camry_tire_t_rr': 0,
        '0C': 100,
        'vehicle.no_such_signal': 50,
      },
    });
    expect(plan.find((p) => p.pid === '221002@700')?.periodMs).toBe(400);
    expect(plan.find((p) => p.pid === '2116@750')).toBeUndefined();
    expect(plan.find((p) => p.pid === '0C')?.periodMs).toBe(100);
    // A command read for several signals stays while any of them still wants it, at the fastest rate asked.
    const shared = vehicleCommands(profile).commands.find((c) => c.command.signals.length >= 2)!;
    const [a, b] = shared.command.signals.map((x) => `vehicle.${x.id.toLowerCase()}`);
    const both = buildPollPlan(set, supported, 0, { vehicle: profile, periodsMs: { [a!]: 0, [b!]: 3000 } });
    expect(both.find((p) => p.pid === `${shared.request}@${shared.header}`)?.periodMs).toBe(3000);
  });

  it('stays on the current header while its items are due and nothing else is late by a quarter period', () => {
    const plan = buildPollPlan(set, supported, 0, { vehicle: profile });
    const first = nextRequest(plan, set, 0, { isCan: true, group: '' })!;
    expect(first.kind).toBe('mode01');
    // All due at 0: on the 700/708 header, the next request stays there.
    const group700 = headerGroup(plan.find((p) => p.pid === '221002@700')!);
    const there = nextRequest(plan, set, 0, { isCan: true, group: group700 })!;
    expect(there).toMatchObject({ kind: 'vehicle', group: group700 });
    expect(there.items[0]!.vehicle!.header).toBe('700');
    // Mode 01 items overdue by more than a quarter of their period pull the adapter back.
    const late = nextRequest(plan, set, 1000, { isCan: true, group: group700 })!;
    expect(late.kind).toBe('mode01');
    expect(headerGroup(plan.find((p) => p.pid === '0C')!)).toBe('');
  });
});
