// A deterministic synthetic drive, for when the carOBD data set is absent (CI, `npm start` elsewhere).
import { CAROBD_COLUMNS } from '@clutch/firmware-profiles';
import type { DriveSource } from './drive.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A plausible petrol-car drive, identical for the same seed: repeated idle -> accelerate -> cruise ->
 * brake cycles at 2 rows per second, coolant warming from ambient towards 90 °C.
 */
export function syntheticDrive(seed: number, rows = 2400): DriveSource {
  const rnd = mulberry32(seed);
  const data: Record<string, number>[] = [];
  const ambient = 15 + rnd() * 15;
  let speed = 0;
  let coolant = ambient;
  let phase: 'idle' | 'accelerate' | 'cruise' | 'brake' = 'idle';
  let phaseLeft = 20 + rnd() * 40;
  let target = 0;
  let fuel = 40 + rnd() * 50;
  for (let i = 0; i < rows; i++) {
    const t = i * 0.5;
    phaseLeft -= 1;
    if (phaseLeft <= 0) {
      if (phase === 'idle') [phase, phaseLeft, target] = ['accelerate', 16 + rnd() * 20, 40 + rnd() * 70];
      else if (phase === 'accelerate') [phase, phaseLeft] = ['cruise', 60 + rnd() * 120];
      else if (phase === 'cruise') [phase, phaseLeft] = ['brake', 14 + rnd() * 12];
      else [phase, phaseLeft, target] = ['idle', 20 + rnd() * 40, 0];
    }
    let pedal = 0;
    if (phase === 'accelerate') {
      pedal = 30 + rnd() * 25;
      speed = Math.min(target, speed + 1.2 + rnd() * 0.8);
    } else if (phase === 'cruise') {
      pedal = 12 + rnd() * 6;
      speed = Math.max(0, speed + (rnd() - 0.5) * 0.8);
    } else if (phase === 'brake') {
      speed = Math.max(0, speed - 2 - rnd());
    } else {
      speed = 0;
    }
    const gear = speed < 15 ? 1 : speed < 30 ? 2 : speed < 50 ? 3 : speed < 75 ? 4 : 5;
    const ratio = [0, 110, 62, 42, 32, 26][gear]!;
    const rpm = speed < 1 ? 780 + rnd() * 40 : Math.max(900, speed * ratio + pedal * 8 + rnd() * 30);
    coolant += (90 - coolant) * 0.004 + (rnd() - 0.5) * 0.1;
    fuel = Math.max(5, fuel - 0.0005 - speed * 0.00002);
    const load = Math.min(100, 18 + pedal * 1.1 + rnd() * 3);
    const throttle = 14 + pedal * 0.7;
    data.push({
      RUNTM: Math.floor(t),
      RPM: rpm,
      VSS: speed,
      TP: throttle,
      LOAD_PCT: load,
      ECT: coolant,
      LONGFT1: 2.3,
      SHRTFT1: (rnd() - 0.5) * 6,
      MAP: 30 + load * 0.6,
      FLI: fuel,
      TP_B: throttle + 16,
      APP_D: 15 + pedal * 0.6,
      APP_E: 7 + pedal * 0.3,
      TAC_PCT: pedal * 0.5,
      EQ_RAT: pedal > 40 ? 0.95 : 1,
      BARO: 101,
      TP_R: pedal * 0.5,
      IAT: ambient + 10 + (coolant - ambient) * 0.1,
      SPARKADV: 10 + (100 - load) * 0.15,
      CATEMP11: 300 + load * 4 + (coolant - ambient) * 2,
      CATEMP12: 250 + load * 3 + (coolant - ambient) * 2,
      VPWR: 14.1 + (rnd() - 0.5) * 0.2,
      EVAP_PCT: coolant > 70 ? 20 : 0,
      MIL_TIME: 0,
      CLR_TIME: 1200 + Math.floor(t / 60),
      MIL_DIST: 0,
      WARM_UPS: 40,
    });
  }
  return {
    name: `synthetic-${seed}`,
    signals: CAROBD_COLUMNS,
    length: data.length,
    row: (i) => data[((i % data.length) + data.length) % data.length]!,
  };
}
