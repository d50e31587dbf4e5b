import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run on the TypeScript sources of every workspace package, no build needed.
    alias: [{ find: /^@clutch\/([a-z-]+)$/, replacement: `${root}$1/src/index.ts` }],
  },
  test: {
    include: ['*/src/**/*.test.ts'],
    globalSetup: ['./test-support/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
