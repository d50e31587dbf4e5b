/**
 * Static bounds on the times a payload may carry. They only keep every number a valid Date (so
 * arithmetic and formatting never throw, whatever a device sends); whether a time is believable is
 * ingest's check against its own clock (ingest/src/processors/time-window.ts), not the contract's.
 */
export const EPOCH_MIN_MS = Date.UTC(2000, 0, 1);
export const EPOCH_MAX_MS = Date.UTC(2200, 0, 1);

/**
 * Largest clock correction a batch may carry: ten years either way. A device whose clock is further
 * off than that is broken, and with this bound t0 + dt + offset always stays a valid Date.
 */
export const MAX_CLOCK_OFFSET_MS = 10 * 366 * 86_400_000;
