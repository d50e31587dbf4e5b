import { S } from '../signals.js';
import { regimeOf, type Frame } from '../features/frames.js';

/** ~0.3 g: the usual telematics threshold for a harsh launch (10.8 km/h gained per second). */
export const HARSH_ACCEL_KMH_S = 10.8;
/** ~0.35 g of braking. */
export const HARSH_BRAKE_KMH_S = -12.6;
/** This 1.5 L engine never passes 3,800 rpm in the carOBD drives; 4,500 is revving it hard. */
export const OVER_REV_RPM = 4500;
/** Speed is compared over 2 s: the sensor reports whole km/h twice a second. */
const SPAN_MS = 2000;
/** One manoeuvre is one event, however many samples it spans. */
const REFRACTORY_MS = 5000;

export interface DrivingEvent {
  kind: 'harsh_acceleration' | 'harsh_braking' | 'over_rev';
  at: number;
  value: number;
  unit: string;
  explanation: string;
}

export interface DrivingReport {
  /** 0–100, 100 = smooth. */
  score: number;
  durationHours: number;
  distanceKm: number;
  idlingShare: number;
  harshAccelerations: number;
  harshBrakings: number;
  overRevs: number;
  events: DrivingEvent[];
  explanation: string;
}

export function analyzeDrivingFrames(frames: readonly Frame[]): DrivingReport {
  const events: DrivingEvent[] = [];
  let runningMs = 0;
  let idleMs = 0;
  let distanceKm = 0;
  const lastEvent: Record<DrivingEvent['kind'], number> = {
    harsh_acceleration: -Infinity,
    harsh_braking: -Infinity,
    over_rev: -Infinity,
  };
  let j = 0;
  for (let i = 1; i < frames.length; i++) {
    const f = frames[i] as Frame;
    const prev = frames[i - 1] as Frame;
    const dt = f.t - prev.t;
    if (dt <= 0 || dt > 10_000) continue;
    const regime = regimeOf(prev.v);
    if (regime !== 'off') runningMs += dt;
    if (regime === 'idle') idleMs += dt;
    const speed = prev.v[S.speed] as number;
    if (Number.isFinite(speed)) distanceKm += (speed * dt) / 3_600_000;
    while (j < i && f.t - (frames[j] as Frame).t > SPAN_MS) j++;
    const base = frames[j] as Frame;
    const span = f.t - base.t;
    if (span >= SPAN_MS / 2) {
      const rate = (((f.v[S.speed] as number) - (base.v[S.speed] as number)) * 1000) / span;
      if (rate >= HARSH_ACCEL_KMH_S && f.t - lastEvent.harsh_acceleration > REFRACTORY_MS) {
        lastEvent.harsh_acceleration = f.t;
        events.push({
          kind: 'harsh_acceleration',
          at: f.t,
          value: rate,
          unit: 'km/h/s',
          explanation: `Gained ${rate.toFixed(1)} km/h per second (harsh above ${HARSH_ACCEL_KMH_S}); wears tyres, clutch and engine mounts.`,
        });
      } else if (rate <= HARSH_BRAKE_KMH_S && f.t - lastEvent.harsh_braking > REFRACTORY_MS) {
        lastEvent.harsh_braking = f.t;
        events.push({
          kind: 'harsh_braking',
          at: f.t,
          value: rate,
          unit: 'km/h/s',
          explanation: `Lost ${(-rate).toFixed(1)} km/h per second (harsh beyond ${-HARSH_BRAKE_KMH_S}); wears pads and discs, check following distance.`,
        });
      }
    }
    const rpm = f.v[S.rpm] as number;
    if (rpm > OVER_REV_RPM && f.t - lastEvent.over_rev > REFRACTORY_MS) {
      lastEvent.over_rev = f.t;
      events.push({
        kind: 'over_rev',
        at: f.t,
        value: rpm,
        unit: 'rpm',
        explanation: `Engine at ${rpm.toFixed(0)} rpm (over ${OVER_REV_RPM}); shift earlier to save fuel and engine wear.`,
      });
    }
  }
  const count = (k: DrivingEvent['kind']): number => events.filter((e) => e.kind === k).length;
  const hours = runningMs / 3_600_000;
  const idlingShare = runningMs === 0 ? 0 : idleMs / runningMs;
  const perHour = (n: number): number => (hours > 0 ? n / Math.max(hours, 0.25) : 0);
  const harsh = count('harsh_acceleration') + count('harsh_braking');
  // Penalties per hour of driving so a long trip is not punished for being long.
  const score = Math.round(
    Math.max(
      0,
      Math.min(100, 100 - 4 * perHour(harsh) - 8 * perHour(count('over_rev')) - 40 * Math.max(0, idlingShare - 0.3)),
    ),
  );
  const parts = [
    `${harsh} harsh acceleration/braking event(s)`,
    `${count('over_rev')} over-rev(s)`,
    `${Math.round(idlingShare * 100)} % of running time idling`,
  ];
  return {
    score,
    durationHours: hours,
    distanceKm,
    idlingShare,
    harshAccelerations: count('harsh_acceleration'),
    harshBrakings: count('harsh_braking'),
    overRevs: count('over_rev'),
    events,
    explanation:
      `Score ${score}/100 over ${hours.toFixed(2)} h and ${distanceKm.toFixed(1)} km: ${parts.join(', ')}. ` +
      (idlingShare > 0.3 ? 'Long idling wastes fuel and loads the engine without cooling airflow. ' : '') +
      (harsh > 0 ? 'Smoother pedal use saves brakes, tyres and fuel.' : 'Smooth driving.'),
  };
}
