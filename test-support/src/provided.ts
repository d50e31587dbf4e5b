// Values the global setup hands to every test file through vitest's inject().
import type {} from 'vitest';
declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the PostgreSQL server started for this test run. */
    pgAdminUrl: string;
  }
}

export {};
