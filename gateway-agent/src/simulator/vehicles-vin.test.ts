import { statusSchema } from '@clutch/contracts';
import { describe, expect, it } from 'vitest';
import { makeVin, simulatedVehicle } from './vehicles.js';

// Regression: simulated VINs once contained an "I", which ISO 3779 forbids and the database refuses.
describe('simulated VINs', () => {
  it('are valid ISO 3779 VINs for every car of a large fleet', () => {
    for (let i = 1; i <= 40; i++) {
      const vin = simulatedVehicle(i).vin;
      expect(statusSchema.shape.vin.safeParse(vin).success, vin).toBe(true);
    }
    expect(makeVin('1HG', 2005, 7)).toMatch(/^[A-HJ-NPR-Z0-9]{17}$/);
  });

  it('are petrol models only, since the engine data replays a petrol car', () => {
    const models = Array.from(
      { length: 40 },
      (_, i) => `${simulatedVehicle(i + 1).make} ${simulatedVehicle(i + 1).model}`,
    );
    expect(models.filter((m) => /\b(EV|Electric|Leaf|Mach)\b/i.test(m))).toEqual([]);
    expect(new Set(models).size).toBeGreaterThan(3);
  });
});
