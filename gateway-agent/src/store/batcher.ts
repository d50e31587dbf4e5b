import { TELEMETRY_LIMITS, TELEMETRY_VERSION, type TelemetryBatch, type TelemetrySample } from '@clutch/contracts';

/** Collects samples and cuts them into TelemetryBatch messages with a per-device monotonic seq. */
export class TelemetryBatcher {
  private samples: TelemetrySample[] = [];
  private t0 = 0;
  private seq: number;
  batchesSent = 0;
  samplesSent = 0;

  constructor(
    private readonly emit: (batch: TelemetryBatch) => void,
    startSeq = 0,
    private readonly maxSamples: number = TELEMETRY_LIMITS.maxSamples,
    /** Called for every accepted sample before it joins the pending batch (the crash journal). */
    private readonly onSample?: (key: string, value: number, atMs: number) => void,
  ) {
    this.seq = startSeq;
  }

  /** The seq the next batch will carry. */
  get nextSeq(): number {
    return this.seq;
  }

  add(key: string, value: number, atMs: number = Date.now()): void {
    if (!Number.isFinite(value)) return;
    // A batch may only span maxSpanMs (contracts): start a new one instead of breaking the limit.
    if (this.samples.length > 0 && Math.round(atMs - this.t0) > TELEMETRY_LIMITS.maxSpanMs) this.flush();
    if (this.samples.length === 0) this.t0 = Math.floor(atMs);
    const dt = Math.max(0, Math.round(atMs - this.t0));
    this.onSample?.(key, value, this.t0 + dt);
    this.samples.push([dt, key, value]);
    if (this.samples.length >= this.maxSamples) this.flush();
  }

  get pendingSamples(): number {
    return this.samples.length;
  }

  /** Emits the pending samples as one batch (nothing when empty). */
  flush(): void {
    if (this.samples.length === 0) return;
    const batch: TelemetryBatch = { v: TELEMETRY_VERSION, seq: this.seq++, t0: this.t0, samples: this.samples };
    this.samples = [];
    this.batchesSent++;
    this.samplesSent += batch.samples.length;
    this.emit(batch);
  }
}
