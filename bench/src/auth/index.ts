// Sign-in and refresh throughput (issue 14), each beside a reference measured in the same run:
//
// - argon2id sign-ins per CPU-second (full `POST /api/auth/login`: limiter, lookup, argon2id
//   verification at OWASP's m=19 MiB t=2 p=1, session row, signed access token), next to raw
//   argon2id verifications per CPU-second: the floor the hash sets. Keycloak's sizing guide: about
//   15 password sign-ins per vCPU-second.
// - refreshes per CPU-second (full `POST /api/sessions/refresh`: rotation under the session lock,
//   new refresh and access tokens), next to a bare authenticated request (`GET /api/me`: token
//   verification and a cached session check). Keycloak: about 120 refreshes per vCPU-second; our
//   target is at least 1,000.
//
// Per CPU-second of this process (API and PGlite run in it), so the figures mean the same on a busy
// machine. Then H5's policy benchmark (./policy.ts) when it exists.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startApiServer } from '@clutch/api';
import { createInProcessBus } from '@clutch/contracts';
import { migrate, openPglite } from '@clutch/db';
import { hashPassword, verifyPassword } from '@clutch/identity';
import { pino } from 'pino';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PASSWORD = 'bench passphrase for sign-ins';

interface Figure {
  name: string;
  ops: number;
  wallSeconds: number;
  cpuSeconds: number;
}

/** Runs `op` from `concurrency` loops for `seconds`; counts completions and this process's CPU time. */
async function measure(
  name: string,
  concurrency: number,
  seconds: number,
  op: (worker: number) => Promise<void>,
): Promise<Figure> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  let ops = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < until) {
        await op(worker);
        ops++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { name, ops, wallSeconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

const perCpu = (f: Figure): number => f.ops / f.cpuSeconds;
const line = (f: Figure): string =>
  `${f.name.padEnd(44)} ${perCpu(f).toFixed(1).padStart(9)} /CPU-s ${(f.ops / f.wallSeconds).toFixed(1).padStart(9)} /s wall  (${f.ops} in ${f.wallSeconds.toFixed(1)} s, ${f.cpuSeconds.toFixed(1)} CPU-s)`;

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-client': 'mobile', ...headers },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function main(): Promise<void> {
  const db = await openPglite();
  await migrate(db);
  const api = await startApiServer({
    db,
    bus: createInProcessBus(),
    health: async () => ({}),
    logger: pino({ level: 'silent' }),
    port: 0,
    requireAuth: true,
    rateLimit: { enabled: false },
    // Many sign-ins of a few accounts: no eviction in the way.
    identity: { sessionPolicy: { maxSessions: { consumer: 1_000_000, partner: 1_000_000, platform: 1_000_000 } } },
  });
  try {
    const hash = await hashPassword(PASSWORD);
    const accounts = Array.from({ length: CONCURRENCY }, (_, i) => `bench-${i}@example.com`);
    for (const email of accounts)
      await db.query(
        `INSERT INTO users (tenant_id, email, display_name, password_hash, email_verified_at) VALUES ('consumers', $1, 'Bench', $2, now())`,
        [email, hash],
      );
    console.log(`auth bench: ${SECONDS} s each, ${CONCURRENCY} concurrent clients, PGlite in process`);

    const argon = await measure('argon2id verify (reference)', CONCURRENCY, SECONDS, async () => {
      if (!(await verifyPassword(hash, PASSWORD))) throw new Error('verify failed');
    });
    console.log(line(argon));
    const signIns = await measure('sign-in POST /api/auth/login', CONCURRENCY, SECONDS, async (w) => {
      await post(
        `${api.url}/api/auth/login`,
        { email: accounts[w], password: PASSWORD },
        { 'x-device-id': `bench-${w}` },
      );
    });
    console.log(line(signIns));

    // One session per client, refreshed in a loop with the token each answer hands back.
    const tokens = await Promise.all(
      accounts.map(async (email, w) => {
        const body = await post(
          `${api.url}/api/auth/login`,
          { email, password: PASSWORD },
          { 'x-device-id': `refresh-${w}` },
        );
        return { refresh: body.refreshToken as string, access: body.accessToken as string };
      }),
    );
    const bare = await measure('bare authenticated GET /api/me (reference)', CONCURRENCY, SECONDS, async (w) => {
      const res = await fetch(`${api.url}/api/me`, { headers: { authorization: `Bearer ${tokens[w]!.access}` } });
      if (res.status !== 200) throw new Error(`me: ${res.status}`);
      await res.arrayBuffer();
    });
    console.log(line(bare));
    const refreshes = await measure('refresh POST /api/sessions/refresh', CONCURRENCY, SECONDS, async (w) => {
      const body = await post(
        `${api.url}/api/sessions/refresh`,
        { refreshToken: tokens[w]!.refresh },
        { 'x-device-id': `refresh-${w}` },
      );
      tokens[w]!.refresh = body.refreshToken as string;
    });
    console.log(line(refreshes));

    console.log(
      `sign-ins: ${perCpu(signIns).toFixed(1)}/CPU-s (Keycloak ~15/vCPU; argon2id alone ${perCpu(argon).toFixed(1)}/CPU-s)`,
    );
    console.log(
      `refreshes: ${perCpu(refreshes).toFixed(1)}/CPU-s (Keycloak ~120/vCPU; target >= 1,000; bare request ${perCpu(bare).toFixed(1)}/CPU-s)`,
    );
  } finally {
    await api.close();
    await db.close();
  }

  // H5's policy decision benchmark, when it is there.
  const policy = fileURLToPath(new URL('./policy.js', import.meta.url));
  if (existsSync(policy)) {
    const mod = (await import(policy)) as { runPolicyBench?: () => Promise<void> };
    await mod.runPolicyBench?.();
  }
}

await main();
