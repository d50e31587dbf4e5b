/**
 * How many cases a property test runs. By default `ci`: a size that still finds the bugs these tests
 * were written for, in seconds rather than tens of seconds of every CI run. CLUTCH_PROPERTY_RUNS=full
 * runs each at the size it was first written with (`full`), and CLUTCH_PROPERTY_RUNS=<n> runs exactly
 * n, for a long hunt before a release or after touching the code under test (docs/testing.md).
 */
export function propertyRuns(ci: number, full: number, env: NodeJS.ProcessEnv = process.env): number {
  const asked = env.CLUTCH_PROPERTY_RUNS?.trim();
  if (!asked) return ci;
  if (asked === 'full') return full;
  const n = Number(asked);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`CLUTCH_PROPERTY_RUNS must be "full" or a positive whole number, not "${asked}"`);
  return n;
}
