// Which Mode 01 request forms an adapter and the ECUs behind it accept, learnt from their answers.
// Many ELM327 clones refuse a request naming several PIDs ('?'), or the response-count digit after one,
// and many ECUs ignore such a request (NO DATA) or answer only its first PID (issue 18 §1). The agent
// starts optimistic (multi-PID with the count digit, SAE J1979 §8.1.2) and steps down per form and per
// ECU on evidence; every step down expires after `reprobeMs`, so a transient failure is not for ever.

/** Two failures in a row before a step down: one garbled or lost reply must not cost minutes of speed. */
const STRIKES = 2;

/** A strike counter that demotes at STRIKES and forgets the demotion after `reprobeMs`. */
class Demotion {
  private strikes = 0;
  private since: number | undefined;

  constructor(private readonly onReprobe: () => void) {}

  strike(now: number): boolean {
    if (this.since !== undefined) return false;
    if (++this.strikes < STRIKES) return false;
    this.since = now;
    return true;
  }

  ok(): void {
    if (this.since === undefined) this.strikes = 0;
  }

  active(now: number, reprobeMs: number): boolean {
    if (this.since === undefined) return false;
    if (now - this.since < reprobeMs) return true;
    this.since = undefined;
    this.strikes = 0;
    this.onReprobe();
    return false;
  }
}

export interface CapabilityEvents {
  /** A form or an ECU was demoted (e.g. 'adapter multi-PID', 'count digit after multi-PID', 'ECU 7E8 multi-PID'). */
  readonly onDemote?: (what: string) => void;
}

export class RequestCapability {
  private readonly demotions = new Map<string, Demotion>();
  /** PID -> ECU that answers it (CAN id, '' without headers), from the latest reply that carried it. */
  private readonly owners = new Map<string, string>();
  /** PIDs missing from a multi-PID reply, asked alone next; value = the failed request it came from. */
  private readonly confirming = new Map<string, number>();
  private readonly struck = new Set<string>();
  private failureId = 0;
  /** Step downs so far (re-probes undo them; the count stays). */
  demoted = 0;
  /** Demotions that expired, after which the richer form is tried again. */
  reprobes = 0;

  constructor(
    private readonly reprobeMs = 5 * 60_000,
    private readonly events: CapabilityEvents = {},
  ) {}

  private demotion(key: string): Demotion {
    let d = this.demotions.get(key);
    if (!d) {
      d = new Demotion(() => this.reprobes++);
      this.demotions.set(key, d);
    }
    return d;
  }

  private active(key: string, now: number): boolean {
    return this.demotions.get(key)?.active(now, this.reprobeMs) ?? false;
  }

  private strike(key: string, now: number): void {
    if (this.demotion(key).strike(now)) {
      this.demoted++;
      this.events.onDemote?.(key);
    }
  }

  /** Whether `pid` may share a Mode 01 request with other PIDs now. */
  multiAllowed(pid: string, now: number): boolean {
    if (this.confirming.has(pid) || this.active('adapter multi-PID', now)) return false;
    const owner = this.owners.get(pid);
    return owner === undefined || !this.active(`ECU ${owner || '(no header)'} multi-PID`, now);
  }

  /** Whether to append the response-count digit to a request of `pidCount` PIDs. */
  countDigit(pidCount: number, now: number): boolean {
    return !this.active(pidCount > 1 ? 'count digit after multi-PID' : 'count digit', now);
  }

  /** The ECU the PID was last read from. */
  ownerOf(pid: string): string | undefined {
    return this.owners.get(pid);
  }

  /** The adapter answered '?' (it did not understand the request). */
  refused(pids: readonly string[], withCountDigit: boolean, now: number): void {
    if (withCountDigit) this.strike(pids.length > 1 ? 'count digit after multi-PID' : 'count digit', now);
    else if (pids.length > 1) this.strike('adapter multi-PID', now);
  }

  /**
   * A reply arrived: `answered` maps each PID that decoded to its ECU. PIDs missing from a multi-PID
   * reply are asked alone next; if one then answers, its ECU answers single requests but not
   * multi-PID ones (NO DATA or a short answer), which is a strike against that ECU. A PID that does not
   * answer alone either is failing on its own (per-PID health), not the multi-PID form.
   */
  replied(pids: readonly string[], answered: ReadonlyMap<string, string>, withCountDigit: boolean, now: number): void {
    if (pids.length > 1) {
      if (answered.size > 0) {
        this.demotion('adapter multi-PID').ok();
        if (withCountDigit) this.demotion('count digit after multi-PID').ok();
      }
      const ecus = new Set(answered.values());
      for (const ecu of ecus) {
        const mine = pids.filter((p) => this.owners.get(p) === ecu);
        if (mine.every((p) => answered.get(p) === ecu)) this.demotion(`ECU ${ecu || '(no header)'} multi-PID`).ok();
      }
    } else if (withCountDigit && answered.size > 0) this.demotion('count digit').ok();
    for (const [pid, ecu] of answered) this.owners.set(pid, ecu);
    if (pids.length > 1) {
      const id = ++this.failureId;
      for (const pid of pids) if (!answered.has(pid)) this.confirming.set(pid, id);
      return;
    }
    const pid = pids[0]!;
    const failed = this.confirming.get(pid);
    if (failed === undefined) return;
    this.confirming.delete(pid);
    const ecu = answered.get(pid);
    if (ecu === undefined) return;
    const key = `ECU ${ecu || '(no header)'} multi-PID`;
    // One failed request is one strike per ECU, however many of its PIDs it lacked.
    if (this.struck.has(`${key}#${failed}`)) return;
    this.struck.add(`${key}#${failed}`);
    if (this.struck.size > 256) this.struck.delete(this.struck.values().next().value!);
    this.strike(key, now);
  }

  /** NO DATA, a timeout or another error in place of data: no PID decoded. */
  unanswered(pids: readonly string[], now: number): void {
    this.replied(pids, new Map(), false, now);
  }
}
