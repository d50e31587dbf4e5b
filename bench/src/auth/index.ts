// Sign-in and refresh throughput (issue 14), each beside a reference measured in the same run:
//
// - argon2id sign-ins per CPU-second (full `POST /api/auth/login`: limiter, lookup, argon2id
//   verification at OWASP's m=19 MiB t=2 p=1, session row, signed access token), next to raw
//   argon2id verifications per CPU-second: the floor the hash sets. Keycloak's sizing guide: about
//   15 password sign-ins per vCPU-second.
// - refreshes per CPU-second (full `POST /api/sessions/refresh`: rotation under the session lock,
//   new refresh and access tokens), next to a bare authenticated request (`GET /api/me`: token
//   verification and a cached session check). Keycloak: about 120 refreshes per vCPU-second.
//
// Per CPU-second of the server: the API's threads and, on PostgreSQL, the database server's
// processes; the clients run on a thread of their own (./client-worker.ts) whose CPU is left out,
// as a load generator on another machine would be. CPU rather than wall time, so the figures mean
// the same on a busy machine. Both databases by default; `BENCH_DB=postgres` or `pglite` for one.
// Then the policy decision benchmark (./policy.ts).
import { Worker } from 'node:worker_threads';
import { startApiServer } from '@clutch/api';
import { createInProcessBus } from '@clutch/contracts';
import { migrate, openPglite, openPostgres, type Database } from '@clutch/db';
import { hashPassword, verifyPassword } from '@clutch/identity';
import { createTestDatabase, startPostgresServer } from '@clutch/test-support';
import { pino } from 'pino';
import { cpuBetween, cpuSnapshot } from '../common/cpu.js';
import type { ClientJob, ClientMessage } from './client-worker.js';
import { runPolicyBench } from './policy.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PASSWORD = 'bench passphrase for sign-ins';
const KEYCLOAK = { signIns: 15, refreshes: 120 };
/** `BENCH_ONLY=refresh` (for a profile of one part): `sign-in`, `me`, `refresh`, `policy`, comma-separated. */
const ONLY = process.env.BENCH_ONLY?.split(',');
const part = (name: string): boolean => !ONLY || ONLY.includes(name);

interface Figure {
  name: string;
  ops: number;
  wallSeconds: number;
  /** Server CPU: this process without the clients' thread, and PostgreSQL's processes. */
  cpuSeconds: number;
  /** How that CPU splits (ms per operation), e.g. main thread, PostgreSQL. */
  parts: { part: string; ms: number }[];
  /** The clients' own thread, ms per operation (left out of cpuSeconds). */
  clientsMs?: number;
}

const perCpu = (f: Figure): number => f.ops / f.cpuSeconds;
const line = (f: Figure): string =>
  `  ${f.name.padEnd(44)} ${perCpu(f).toFixed(1).padStart(8)} /CPU-s ${(f.ops / f.wallSeconds).toFixed(1).padStart(8)} /s wall  (${f.ops} in ${f.wallSeconds.toFixed(1)} s; per op ${f.parts
    .filter((p) => p.ms >= 0.05)
    .map((p) => `${p.part} ${p.ms.toFixed(2)} ms`)
    .join(', ')}${f.clientsMs === undefined ? '' : `; clients ${f.clientsMs.toFixed(2)} ms, left out`})`;

/** In this process, no HTTP: CPU of the whole process (argon2id runs on libuv's pool). */
async function measureInProcess(name: string, op: () => Promise<void>): Promise<Figure> {
  const before = cpuSnapshot();
  const until = performance.now() + SECONDS * 1000;
  let ops = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        await op();
        ops++;
      }
    }),
  );
  const cpu = cpuBetween(before, cpuSnapshot(), 1);
  const parts = cpu.perThousand.map((p) => ({ part: p.part, ms: p.ms / 1000 / Math.max(1, ops) }));
  return {
    name,
    ops,
    wallSeconds: cpu.wallSeconds,
    cpuSeconds: (parts.reduce((s, p) => s + p.ms, 0) * ops) / 1000,
    parts,
  };
}

/** HTTP clients on their own thread; the server's CPU is everything else. */
async function measureHttp(
  name: string,
  job: Omit<ClientJob, 'seconds' | 'password'>,
  pgDataDir?: string,
): Promise<Figure> {
  const worker = new Worker(new URL('./client-worker.js', import.meta.url), {
    workerData: { ...job, seconds: SECONDS, password: PASSWORD } satisfies ClientJob,
  });
  try {
    const ready = await next(worker);
    if (ready.kind !== 'ready') throw new Error('client worker: no ready message');
    const before = cpuSnapshot(pgDataDir);
    worker.postMessage('go');
    const done = await next(worker);
    const after = cpuSnapshot(pgDataDir);
    if (done.kind !== 'done') throw new Error('client worker: no result');
    if (done.failures.length > 0) throw new Error(`${name}: ${done.failures[0]}`);
    const labelled = new Map<number, string>(ready.threadId === null ? [] : [[ready.threadId, 'clients']]);
    const cpu = cpuBetween(before, after, done.ops, labelled);
    const parts = cpu.perThousand.filter((p) => p.part !== 'clients').map((p) => ({ part: p.part, ms: p.ms / 1000 }));
    const serverMs = parts.reduce((s, p) => s + p.ms, 0) * done.ops;
    const clientsMs = (cpu.perThousand.find((p) => p.part === 'clients')?.ms ?? 0) / 1000;
    return { name, ops: done.ops, wallSeconds: done.wallSeconds, cpuSeconds: serverMs / 1000, parts, clientsMs };
  } finally {
    await worker.terminate();
  }
}

function next(worker: Worker): Promise<ClientMessage> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

async function mobileSignIn(
  url: string,
  email: string,
  deviceId: string,
): Promise<{ access: string; refresh: string }> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-client': 'mobile', 'x-device-id': deviceId },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const body = (await res.json()) as { accessToken: string; refreshToken: string };
  if (res.status !== 200) throw new Error(`sign-in: ${res.status} ${JSON.stringify(body)}`);
  return { access: body.accessToken, refresh: body.refreshToken };
}

async function runOn(label: string, db: Database, pgDataDir?: string): Promise<void> {
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
    console.log(`auth bench on ${label}: ${SECONDS} s each, ${CONCURRENCY} concurrent clients`);

    const ratio = (v: number, ref: number): string => `${(v / ref).toFixed(2)} x Keycloak's ~${ref}/vCPU`;
    if (part('sign-in')) {
      const argon = await measureInProcess('argon2id verify (reference)', async () => {
        if (!(await verifyPassword(hash, PASSWORD))) throw new Error('verify failed');
      });
      console.log(line(argon));
      const signIns = await measureHttp(
        'sign-in POST /api/auth/login',
        { url: api.url, kind: 'sign-in', clients: accounts.map((email, w) => ({ email, deviceId: `bench-${w}` })) },
        pgDataDir,
      );
      console.log(line(signIns));
      console.log(
        `  ${label} sign-ins: ${perCpu(signIns).toFixed(1)}/CPU-s (${ratio(perCpu(signIns), KEYCLOAK.signIns)}; argon2id alone ${perCpu(argon).toFixed(1)}/CPU-s)`,
      );
    }

    // One session per client, refreshed in a loop with the token each answer hands back.
    const clients = await Promise.all(
      accounts.map(async (email, w) => ({
        email,
        deviceId: `refresh-${w}`,
        ...(await mobileSignIn(api.url, email, `refresh-${w}`)),
      })),
    );
    const bare = part('me')
      ? await measureHttp(
          'bare authenticated GET /api/me (reference)',
          { url: api.url, kind: 'me', clients },
          pgDataDir,
        )
      : undefined;
    if (bare) console.log(line(bare));
    if (part('refresh')) {
      const refreshes = await measureHttp(
        'refresh POST /api/sessions/refresh',
        { url: api.url, kind: 'refresh', clients },
        pgDataDir,
      );
      console.log(line(refreshes));
      console.log(
        `  ${label} refreshes: ${perCpu(refreshes).toFixed(1)}/CPU-s (${ratio(perCpu(refreshes), KEYCLOAK.refreshes)}${bare ? `; bare request ${perCpu(bare).toFixed(1)}/CPU-s` : ''})`,
      );
    }
  } finally {
    await api.close();
  }
}

async function main(): Promise<void> {
  const only = process.env.BENCH_DB;
  if (only !== 'pglite') {
    const server = await startPostgresServer();
    try {
      const url = await createTestDatabase(server.adminUrl, 'bench_auth');
      // As the platform opens the API's pool (platform/src/builders/database.ts).
      const db = await openPostgres(url, { max: 20, preparedStatements: true });
      try {
        await runOn('PostgreSQL', db, server.dataDir);
      } finally {
        await db.close();
      }
    } finally {
      server.destroy();
    }
  }
  if (only !== 'postgres') {
    const db = await openPglite();
    try {
      await runOn('PGlite (in process)', db);
    } finally {
      await db.close();
    }
  }
  if (part('policy')) await runPolicyBench();
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
