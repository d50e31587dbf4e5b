/**
 * How far from the server's clock a reading may be dated. The reference is the broker's receive
 * time of the message, so a backlog that waited in the queue (database down) is judged by when it
 * arrived, not by when it was processed.
 */
export interface TimeWindow {
  /**
   * How old a reading may be. 30 days: the agent's disk queue holds batches for weeks while a car is
   * offline, and storage (monthly partitions, retention, rollups) is prepared for that range. Older
   * readings would land where nothing expects them.
   */
  pastMs: number;
  /**
   * How far ahead a reading may be. 5 minutes: clock skew of a device whose offset estimate lags
   * behind its drifting clock. A reading dated later would pin every "latest value" read to itself
   * until the real time catches up (finding 12.2).
   */
  futureMs: number;
}

export const DEFAULT_TIME_WINDOW: TimeWindow = { pastMs: 30 * 86_400_000, futureMs: 5 * 60_000 };

/** The window as absolute times around one message's receive time, computed once per message. */
export interface TimeBounds {
  fromMs: number;
  toMs: number;
}

export function boundsAround(receivedAtMs: number, window: TimeWindow): TimeBounds {
  return { fromMs: receivedAtMs - window.pastMs, toMs: receivedAtMs + window.futureMs };
}

/** Written so NaN (and anything not a number) is outside: every comparison with NaN is false. */
export function isWithin(timeMs: number, bounds: TimeBounds): boolean {
  return timeMs >= bounds.fromMs && timeMs <= bounds.toMs;
}

/** The time as ISO 8601 when it is a valid Date, else as raw milliseconds (a reason must never throw). */
export function formatTime(timeMs: number): string {
  return Number.isFinite(timeMs) && Math.abs(timeMs) <= 8.64e15 ? new Date(timeMs).toISOString() : `${timeMs} ms`;
}

/** Why `what` (e.g. "sample 3 (engine.rpm)") is refused: its time and the window it missed. */
export function outsideReason(what: string, timeMs: number, bounds: TimeBounds): string {
  const side = timeMs > bounds.toMs ? 'after' : timeMs < bounds.fromMs ? 'before' : 'outside';
  return `${what} is dated ${formatTime(timeMs)}, ${side} the accepted window ${formatTime(bounds.fromMs)}..${formatTime(bounds.toMs)} (server clock at receipt)`;
}

/**
 * The one rule for the times a message carries: null when `timeMs` is inside the window around
 * the receive time, else the reason to refuse it. Telemetry checks each corrected sample time
 * (normalise.ts, with the bounds computed once per batch); locations and trouble-code reports
 * their `t`. Status and command results carry no time that is stored (presence and completion
 * use the server's clock), so nothing of theirs is checked.
 */
export function checkTime(what: string, timeMs: number, bounds: TimeBounds): string | null {
  return isWithin(timeMs, bounds) ? null : outsideReason(what, timeMs, bounds);
}
