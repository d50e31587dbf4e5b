// How long to wait before reopening a lost port (the adapter's or the GPS receiver's).

export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
}

/** Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and Jitter"). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.initialMs ?? 500;
  const cap = options.maxMs ?? 30_000;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
