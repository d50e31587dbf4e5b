import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run on the TypeScript sources of every workspace package, no build needed.
    // A subpath entry (@clutch/db/testing) maps to the module of that name.
    alias: [
      { find: /^@clutch\/([a-z0-9-]+)$/, replacement: `${root}$1/src/index.ts` },
      { find: /^@clutch\/([a-z-]+)\/([a-z-]+)$/, replacement: `${root}$1/src/$2.ts` },
    ],
  },
  test: {
    include: ['*/src/**/*.test.ts'],
    globalSetup: ['./test-support/src/global-setup.ts', './db/src/test-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
