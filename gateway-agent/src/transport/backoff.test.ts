import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('reopen backoff', () => {
  it('backs off exponentially with jitter, capped', () => {
    for (let attempt = 0; attempt < 30; attempt++) {
      const d = backoffDelay(attempt, { initialMs: 100, maxMs: 5000 });
      const ceiling = Math.min(5000, 100 * 2 ** attempt);
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });
});
