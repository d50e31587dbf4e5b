// The capability model on a simulated clock: what it concludes from each kind of answer.
import { describe, expect, it } from 'vitest';
import { RequestCapability } from './request-capability.js';

const six = ['0C', '0D', '05', '11', '04', '0F'];
const none = new Map<string, string>();

describe('RequestCapability', () => {
  it("drops the count digit after two '?' to it, then the multi-PID form after two more, until the re-probe", () => {
    const cap = new RequestCapability(300_000);
    cap.refused(six, true, 0);
    expect(cap.countDigit(6, 0)).toBe(true); // one strike is not a verdict
    cap.refused(six, true, 1);
    expect(cap.countDigit(6, 1)).toBe(false);
    expect(cap.countDigit(1, 1)).toBe(true); // single PIDs keep it
    expect(cap.multiAllowed('0C', 1)).toBe(true);
    cap.refused(six, false, 2);
    cap.refused(six, false, 3);
    expect(cap.multiAllowed('0C', 3)).toBe(false);
    expect(cap.demoted).toBe(2);
    expect(cap.multiAllowed('0C', 299_999)).toBe(false);
    expect(cap.multiAllowed('0C', 300_003)).toBe(true);
    expect(cap.reprobes).toBe(1);
  });

  it('blames the ECU when PIDs missing from a multi-PID reply answer alone, once per failed request', () => {
    const cap = new RequestCapability();
    cap.unanswered(six, 0); // NO DATA
    expect(six.every((p) => !cap.multiAllowed(p, 0))).toBe(true); // asked alone next
    for (const pid of six) cap.replied([pid], new Map([[pid, '7E8']]), true, 1);
    expect(cap.demoted).toBe(0); // six PIDs of one failed request: one strike
    cap.unanswered(six, 2);
    for (const pid of six) cap.replied([pid], new Map([[pid, '7E8']]), true, 3);
    expect(cap.demoted).toBe(1);
    expect(cap.multiAllowed('0C', 3)).toBe(false);
    // A PID another ECU answers is not held back by 7E8's demotion.
    cap.replied(['49'], new Map([['49', '7EA']]), true, 4);
    expect(cap.multiAllowed('49', 4)).toBe(true);
  });

  it('does not blame the form for a PID that fails alone too, and forgives after a full multi-PID answer', () => {
    const cap = new RequestCapability();
    const answered = new Map(six.slice(0, 5).map((p) => [p, '7E8']));
    cap.replied(six, answered, true, 0); // short: 0F missing
    expect(cap.multiAllowed('0F', 0)).toBe(false);
    cap.replied(['0F'], none, true, 1); // NO DATA alone as well: the PID is failing, not the form
    expect(cap.multiAllowed('0F', 1)).toBe(true);
    cap.unanswered(six, 2);
    for (const pid of six.slice(0, 5)) cap.replied([pid], new Map([[pid, '7E8']]), true, 3); // strike 1
    cap.replied(six, new Map(six.map((p) => [p, '7E8'])), true, 4); // full answer: strikes cleared
    cap.unanswered(six, 5);
    for (const pid of six) cap.replied([pid], new Map([[pid, '7E8']]), true, 6); // strike 1 again
    expect(cap.demoted).toBe(0);
  });
});
