/** A sample as the trip rules see it: epoch milliseconds and a value in the signal's unit. */
export interface Point {
  t: number;
  v: number;
}

export interface TripSignals {
  /** vehicle.speed, km/h, oldest first. */
  speed: readonly Point[];
  /** engine.rpm, the ignition proxy (an engine turning means the ignition is on), oldest first. */
  rpm: readonly Point[];
  /** fuel.rate, L/h, oldest first; optional on most vehicles. */
  fuelRate: readonly Point[];
}

export interface Trip {
  start: number;
  end: number;
  durationS: number;
  distanceKm: number;
  /** Engine running (or, without rpm data, the trip paused) while not moving. */
  idleS: number;
  maxSpeedKmh: number;
  /** Distance over duration, idle included. */
  avgSpeedKmh: number;
  /** Integrated fuel.rate; null when the trip has fewer than two fuel-rate samples. */
  fuelUsedL: number | null;
}

export const TRIP_RULES = {
  /** Above this the vehicle is moving (GPS-free speed sensors read 0-1 km/h standing still). */
  movingKmh: 2,
  /** Above this the engine is running. */
  ignitionRpm: 300,
  /** Activity further apart than this splits trips, and longer sample gaps are not integrated across. */
  splitMs: 3 * 60_000,
  /** Shorter runs (starting the engine in the driveway, moving the car a few metres) are not trips. */
  minDistanceKm: 0.05,
} as const;

type Event = { t: number; kind: 'speed' | 'rpm'; v: number };

/** Trapezoidal integral of a rate (per hour) over [from, to], skipping gaps longer than splitMs. */
function integrate(points: readonly Point[], from: number, to: number): { total: number; used: number } {
  let total = 0;
  let used = 0;
  let prev: Point | undefined;
  for (const p of points) {
    if (p.t < from) continue;
    if (p.t > to) break;
    if (prev && p.t - prev.t <= TRIP_RULES.splitMs) {
      total += ((prev.v + p.v) / 2) * ((p.t - prev.t) / 3600_000);
      used++;
    }
    prev = p;
  }
  return { total, used };
}

/**
 * Splits a vehicle's samples into trips: runs of activity (moving, or engine running) whose active
 * samples are at most `splitMs` apart. Distance and fuel are integrated over the samples of each run.
 */
export function detectTrips(signals: TripSignals): Trip[] {
  const events: Event[] = [
    ...signals.speed.map((p) => ({ t: p.t, kind: 'speed' as const, v: p.v })),
    ...signals.rpm.map((p) => ({ t: p.t, kind: 'rpm' as const, v: p.v })),
  ].sort((a, b) => a.t - b.t);
  const hasRpm = signals.rpm.length > 0;

  // Runs of active instants; the state at an instant is the last known value of each signal, if fresh.
  const runs: { start: number; end: number }[] = [];
  let speed: Point | undefined;
  let rpm: Point | undefined;
  for (const [i, e] of events.entries()) {
    if (e.kind === 'speed') speed = e;
    else rpm = e;
    // Simultaneous samples are one instant: judge it once all of them are in.
    if (events[i + 1]?.t === e.t) continue;
    const moving = speed !== undefined && e.t - speed.t <= TRIP_RULES.splitMs && speed.v > TRIP_RULES.movingKmh;
    const running = rpm !== undefined && e.t - rpm.t <= TRIP_RULES.splitMs && rpm.v > TRIP_RULES.ignitionRpm;
    if (!moving && !running) continue;
    const last = runs.at(-1);
    if (last && e.t - last.end <= TRIP_RULES.splitMs) last.end = e.t;
    else runs.push({ start: e.t, end: e.t });
  }

  const trips: Trip[] = [];
  for (const run of runs) {
    const distance = integrate(signals.speed, run.start, run.end).total;
    if (distance < TRIP_RULES.minDistanceKm) continue;
    let idleMs = 0;
    let maxSpeed = 0;
    speed = undefined;
    rpm = undefined;
    let prevT: number | undefined;
    for (const e of events) {
      if (e.t > run.end) break;
      // The interval ending at e.t is idle when, at its start, the vehicle stood with the engine on.
      if (prevT !== undefined && e.t >= run.start && e.t - prevT <= TRIP_RULES.splitMs) {
        const standing = speed === undefined || speed.v <= TRIP_RULES.movingKmh;
        const engineOn = hasRpm ? rpm !== undefined && rpm.v > TRIP_RULES.ignitionRpm : true;
        if (standing && engineOn) idleMs += e.t - Math.max(prevT, run.start);
      }
      if (e.kind === 'speed') {
        speed = e;
        if (e.t >= run.start) maxSpeed = Math.max(maxSpeed, e.v);
      } else rpm = e;
      prevT = e.t;
    }
    const fuel = integrate(signals.fuelRate, run.start, run.end);
    const durationS = (run.end - run.start) / 1000;
    trips.push({
      start: run.start,
      end: run.end,
      durationS,
      distanceKm: distance,
      idleS: idleMs / 1000,
      maxSpeedKmh: maxSpeed,
      avgSpeedKmh: durationS > 0 ? distance / (durationS / 3600) : 0,
      fuelUsedL: fuel.used > 0 ? fuel.total : null,
    });
  }
  return trips;
}
