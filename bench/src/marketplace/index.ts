// The marketplace benchmarks (issue 15): nearby search over 100,000 shops (./nearby.ts) and, when
// it is there, slot computation (./slots.ts, bookings). `npm run bench -- marketplace [nearby|slots]`
// runs one part; without an argument, every part present.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const parts = ['nearby', 'slots'] as const;
const only = process.argv[2];
if (only !== undefined && !parts.includes(only as (typeof parts)[number])) {
  console.error(`usage: npm run bench -- marketplace [${parts.join('|')}]`);
  process.exit(2);
}

for (const part of parts) {
  if (only !== undefined && only !== part) continue;
  const file = new URL(`./${part}.js`, import.meta.url);
  if (!existsSync(fileURLToPath(file))) {
    console.log(`marketplace/${part}: not built (no ${part}.ts yet), skipped`);
    continue;
  }
  const module = (await import(file.href)) as { run?: () => Promise<void> };
  if (typeof module.run !== 'function') throw new Error(`marketplace/${part}.ts exports no run()`);
  await module.run();
}
