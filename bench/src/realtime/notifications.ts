// Notification triggers per second through the whole path (issue 17 item 4; target >= 600/s, Novu's
// published Team-tier rate): a health alert appended to the outbox (as ingest's scoring appends
// `vehicle.alert`), the relay's notifications sink, the `notification-events` job (who is told:
// the car's owner), `requestNotifications`, the `notification-dispatch` job (preferences, quiet
// hours, the in-app inbox row and its `notification` live event), one `notification-send` job per
// channel, and the channel senders into local providers: a local Web Push service (every owner has a
// browser subscription there) and an SMTP mailbox, the servers `npm start` runs as its dev push service
// and dev mailbox, here in a process of their own (./notification-providers.ts): a provider is another
// machine, and its CPU is reported apart from the platform's. The platform runs as `npm start` runs it
// in its open development mode, pointed at them as at a self-hosted push service (CLUTCH_WEB_PUSH_CA)
// and an SMTP server (CLUTCH_SMTP_URL). Timed
// from the first append to the last delivery leaving its queued state, per stage, and per trigger:
// its outbox append to its in-app delivery (the inbox row written and the live event appended),
// and to its Web Push delivery leaving queued.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import path from 'node:path';
import { loadConfig, startPlatform, type RunningPlatform } from '@clutch/platform';
import { pino } from 'pino';
import { cpuBetween, cpuSnapshot } from '../common/cpu.js';
import { fmt, percentile } from '../common/stats.js';
import type { ProvidersCommand, ProvidersReply } from './notification-providers.js';

const TRIGGERS = Number(process.env.BENCH_NOTIFY ?? 2000);
/** Outbox rows per appending transaction (ingest appends a batch's alerts together). */
const APPEND_BATCH = 50;
/** Stop waiting when nothing moved for this long, or after this long in all. */
const STALL_MS = 30_000;
const MAX_WAIT_MS = 300_000;

export interface NotificationFigure {
  /** Triggers per second, first append to the last delivery out of `queued`. */
  perSecond: number;
  /** Where the measured path starts and ends. */
  path: string;
  /** Trigger (outbox append) -> in-app delivered, ms: median and p99. */
  inApp?: { p50: number; p99: number } | undefined;
}

/**
 * Per trigger: its outbox event's append to its in-app delivery and to its Web Push delivery's last
 * change (sent), in ms. The alert's notification is keyed `<event id>:<user id>` (docs/notifications.md).
 * Both ends are database transaction times (now()), so they are comparable.
 */
async function latencies(platform: RunningPlatform): Promise<{ inApp: number[]; push: number[] }> {
  const { rows } = await platform.db.query<{ channel: string; ms: number | string }>(
    `SELECT d.channel, extract(epoch FROM (CASE WHEN d.channel = 'in_app' THEN d.created_at ELSE d.updated_at END)
                                          - e.created_at) * 1000 AS ms
       FROM notification_deliveries d
       JOIN notifications n ON n.id = d.notification_id
       JOIN outbox_events e ON e.id::text = split_part(n.dedupe_key, ':', 1)
      WHERE e.topic = 'vehicle.alert' AND (d.channel = 'in_app' OR (d.channel = 'web_push' AND d.state = 'sent'))`,
  );
  const inApp: number[] = [];
  const push: number[] = [];
  for (const r of rows) (r.channel === 'in_app' ? inApp : push).push(Number(r.ms));
  return { inApp, push };
}

interface Progress {
  notifications: number;
  dispatched: number;
  deliveries: number;
  done: number;
  failed: number;
}

async function progress(platform: RunningPlatform): Promise<Progress> {
  const { rows } = await platform.db.query<Record<keyof Progress, string>>(
    `SELECT (SELECT count(*) FROM notifications) AS notifications,
            (SELECT count(*) FROM notifications WHERE status = 'dispatched') AS dispatched,
            count(*) AS deliveries,
            count(*) FILTER (WHERE state IN ('sent', 'delivered', 'opened', 'failed')) AS done,
            count(*) FILTER (WHERE state = 'failed') AS failed
       FROM notification_deliveries`,
  );
  const r = rows[0]!;
  return {
    notifications: Number(r.notifications),
    dispatched: Number(r.dispatched),
    deliveries: Number(r.deliveries),
    done: Number(r.done),
    failed: Number(r.failed),
  };
}

/** BENCH_NOTIFY_TRACE=1: print the progress and each stage's queue at every look (where the backlog sits). */
const TRACE = process.env.BENCH_NOTIFY_TRACE === '1';

/** Jobs waiting (created or retry) and in a worker's hands (active) per notification queue. */
async function queueStates(platform: RunningPlatform): Promise<string> {
  const { rows } = await platform.db.query<{ name: string; waiting: string; active: string }>(
    `SELECT name, count(*) FILTER (WHERE state IN ('created', 'retry')) AS waiting,
            count(*) FILTER (WHERE state = 'active') AS active
       FROM pgboss.job WHERE name LIKE 'notification-%' GROUP BY name ORDER BY name`,
  );
  return rows.map((r) => `${r.name.replace('notification-', '')} ${r.waiting}/${r.active}`).join(', ');
}

/** The providers' process, asked one thing at a time. */
interface Providers {
  child: ChildProcess;
  ask<K extends ProvidersReply['kind']>(
    command: ProvidersCommand,
    reply: K,
  ): Promise<Extract<ProvidersReply, { kind: K }>>;
}

async function startProvider(role: 'push' | 'mail'): Promise<{ provider: Providers; ready: ProvidersReply }> {
  // BENCH_NOTIFY_PROFILE=<dir>: the providers' processes write V8 CPU profiles there (`--cpu-prof`).
  const profileDir = process.env.BENCH_NOTIFY_PROFILE;
  const child = fork(new URL('./notification-providers.js', import.meta.url), [role], {
    stdio: 'inherit',
    ...(profileDir ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
  });
  const next = <K extends ProvidersReply['kind']>(kind: K): Promise<Extract<ProvidersReply, { kind: K }>> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: ProvidersReply): void => {
        if (m.kind !== kind) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as Extract<ProvidersReply, { kind: K }>);
      };
      const onExit = (code: number | null): void => reject(new Error(`notification providers exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next('ready');
  return {
    provider: {
      child,
      ask: (command, reply) => {
        const answer = next(reply);
        child.send(command);
        return answer;
      },
    },
    ready,
  };
}

/** The push service and the mailbox, a process each, asked as one. */
async function startProviders(): Promise<{ providers: Providers[]; pushCa: string; smtpUrl: string }> {
  const [push, mail] = await Promise.all([startProvider('push'), startProvider('mail')]);
  return {
    providers: [push.provider, mail.provider],
    pushCa: push.ready.kind === 'ready' ? (push.ready.pushCa ?? '') : '',
    smtpUrl: mail.ready.kind === 'ready' ? (mail.ready.smtpUrl ?? '') : '',
  };
}

/** Pushes and mails received and CPU ms so far, summed over the providers' processes. */
async function providerCounts(
  providers: readonly Providers[],
): Promise<{ pushes: number; mails: number; cpuMs: number }> {
  const counts = await Promise.all(providers.map((p) => p.ask({ kind: 'counts' }, 'counts')));
  return {
    pushes: counts.reduce((n, c) => n + c.pushes, 0),
    mails: counts.reduce((n, c) => n + c.mails, 0),
    cpuMs: counts.reduce((n, c) => n + c.cpuMs, 0),
  };
}

/**
 * A platform in development mode on `databaseUrl` (PGlite in `dataDir` when absent), sending to the
 * providers' process; car owners with a car and a browser subscription each, then TRIGGERS alerts.
 */
export async function runNotificationBench(
  databaseUrl: string | undefined,
  dataDir: string,
  pgDataDir?: string,
): Promise<NotificationFigure | undefined> {
  const { providers, pushCa, smtpUrl } = await startProviders();
  try {
    const config = loadConfig(
      ['--vehicles', '0', '--port', '0', '--mqtt-port', '0', '--mqtt-ws-port', '0', '--no-rate-limit'],
      { CLUTCH_DATA_DIR: path.join(dataDir, 'notify'), ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) },
      process.cwd(),
    );
    // The platform reads its communication settings from the environment, as `npm start` does.
    const saved = { ca: process.env.CLUTCH_WEB_PUSH_CA, smtp: process.env.CLUTCH_SMTP_URL };
    process.env.CLUTCH_WEB_PUSH_CA = pushCa;
    process.env.CLUTCH_SMTP_URL = smtpUrl;
    let platform: RunningPlatform;
    try {
      platform = await startPlatform(config, pino({ level: process.env.LOG_LEVEL ?? 'silent' }));
    } finally {
      restoreEnv('CLUTCH_WEB_PUSH_CA', saved.ca);
      restoreEnv('CLUTCH_SMTP_URL', saved.smtp);
    }
    try {
      return await measure(platform, providers, pgDataDir);
    } finally {
      await platform.stop();
    }
  } finally {
    for (const p of providers) {
      const exited = new Promise((resolve) => p.child.once('exit', resolve));
      await p.ask({ kind: 'close' }, 'closed').catch(() => undefined);
      // It exits by itself once closed (writing its profile with BENCH_NOTIFY_PROFILE); killed if it does not.
      if (p.child.exitCode === null)
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      if (p.child.exitCode === null && p.child.kill()) await exited;
    }
  }
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

async function seedOwners(platform: RunningPlatform, n: number): Promise<{ ownerUserId: string; vehicleId: string }[]> {
  const owners = Array.from({ length: n }, () => ({ ownerUserId: randomUUID(), vehicleId: randomUUID() }));
  const users = owners.map((o) => o.ownerUserId);
  await platform.db.query(
    `INSERT INTO users (id, tenant_id, email, display_name, status)
     SELECT id, 'consumers', 'notify-' || left(id::text, 8) || '@bench.example', 'Owner ' || n, 'active'
       FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)`,
    [users],
  );
  await platform.db.query(
    `INSERT INTO role_grants (tenant_id, user_id, role_id, valid_from, granted_by)
     SELECT 'consumers', u, r.id, now() - interval '1 minute', 'realtime-bench'
       FROM unnest($1::uuid[]) AS u, roles r WHERE r.tenant_id = 'platform' AND r.key = 'owner'`,
    [users],
  );
  await platform.db.query(
    `INSERT INTO vehicles (id, tenant_id, name, owner_user_id)
     SELECT v, 'consumers', 'Alerting car', u FROM unnest($1::uuid[], $2::uuid[]) AS x(v, u)`,
    [owners.map((o) => o.vehicleId), users],
  );
  return owners;
}

async function measure(
  platform: RunningPlatform,
  providers: readonly Providers[],
  pgDataDir?: string,
): Promise<NotificationFigure | undefined> {
  const owners = await seedOwners(platform, TRIGGERS);
  const publicKey = platform.communication.channels.web_push?.publicKey;
  // A browser subscription per owner at the local Web Push service, as the settings page registers one.
  if (publicKey) {
    const { subscriptions: subs } = await providers[0]!.ask(
      { kind: 'subscribe', count: owners.length, applicationServerKey: publicKey },
      'subscribed',
    );
    await platform.db.query(
      `INSERT INTO notification_devices (tenant_id, user_id, kind, endpoint, p256dh, auth)
       SELECT 'consumers', u, 'web_push', e, p, a FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS d(u, e, p, a)`,
      [
        owners.map((o) => o.ownerUserId),
        subs.map((s) => s.endpoint),
        subs.map((s) => s.keys.p256dh),
        subs.map((s) => s.keys.auth),
      ],
    );
  }
  const providersBefore = await providerCounts(providers);
  const start = await progress(platform);

  const before = cpuSnapshot(pgDataDir);
  const t0 = performance.now();
  for (let i = 0; i < TRIGGERS; i += APPEND_BATCH) {
    const batch = Array.from(
      { length: Math.min(APPEND_BATCH, TRIGGERS - i) },
      (_, j) => owners[(i + j) % owners.length]!,
    );
    const at = new Date().toISOString();
    await platform.db.query(
      `INSERT INTO outbox_events (tenant_id, topic, payload)
       SELECT 'consumers', 'vehicle.alert', jsonb_build_object('vehicleId', v,
         'alert', jsonb_build_object('id', gen_random_uuid(), 'kind', 'health', 'severity', 'warning',
           'title', 'Coolant temperature rising', 'explanation', 'Above its usual range for 10 minutes',
           'signals', jsonb_build_array('engine.coolant_temp'), 'at', $2::text))
         FROM unnest($1::uuid[]) AS v`,
      [batch.map((o) => o.vehicleId), at],
    );
  }
  const appended = performance.now();

  const stages: { requested?: number; dispatched?: number; sent?: number } = {};
  let last = start;
  let movedAt = performance.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, TRACE ? 100 : 250));
    const now = await progress(platform);
    const t = performance.now();
    if (now.notifications - start.notifications >= TRIGGERS) stages.requested ??= t;
    if (now.dispatched - start.dispatched >= TRIGGERS) stages.dispatched ??= t;
    if (stages.dispatched !== undefined && now.done === now.deliveries) {
      stages.sent = t;
      last = now;
      break;
    }
    if (TRACE) console.log(`    ${fmt((t - t0) / 1000, 2)} s: ${JSON.stringify(now)} ${await queueStates(platform)}`);
    if (JSON.stringify(now) !== JSON.stringify(last)) movedAt = t;
    last = now;
    if (t - movedAt > STALL_MS || t - t0 > MAX_WAIT_MS) break;
  }
  const cpu = cpuBetween(before, cpuSnapshot(pgDataDir), TRIGGERS);
  const providersAfter = await providerCounts(providers);
  const end = stages.sent ?? performance.now();
  const seconds = (end - t0) / 1000;
  const rate = (n: number, at?: number): string =>
    at === undefined ? 'not reached' : `${fmt(n / ((at - t0) / 1000), 1)}/s`;
  const notifications = last.notifications - start.notifications;
  const deliveries = last.deliveries - start.deliveries;
  console.log(
    `  notification triggers: ${fmt(TRIGGERS)} health alerts appended in ${fmt((appended - t0) / 1000, 2)} s; ` +
      `all requested ${rate(TRIGGERS, stages.requested)}, all dispatched ${rate(TRIGGERS, stages.dispatched)}, ` +
      `every delivery out of queued ${rate(TRIGGERS, stages.sent)}`,
  );
  console.log(
    `    ${fmt(notifications)} notifications, ${fmt(deliveries)} deliveries (${fmt(last.failed - start.failed)} failed); ` +
      `local Web Push service received ${fmt(providersAfter.pushes - providersBefore.pushes)}, ` +
      `mailbox ${fmt(providersAfter.mails - providersBefore.mails)}; ` +
      `CPU per trigger ${fmt(cpu.perThousand.reduce((sum, p) => sum + p.ms, 0) / 1000, 2)} ms in all: ${cpu.perThousand
        .filter((p) => p.ms >= 10)
        .map((p) => `${p.part} ${fmt(p.ms / 1000, 2)} ms`)
        .join(', ')} (the providers' processes, not in it: ` +
      `${fmt((providersAfter.cpuMs - providersBefore.cpuMs) / TRIGGERS, 2)} ms)`,
  );
  const lat = await latencies(platform);
  const ms = (values: number[], p: number): string => (values.length === 0 ? '-' : `${fmt(percentile(values, p))} ms`);
  console.log(
    `    trigger -> in-app delivered: p50 ${ms(lat.inApp, 50)}, p99 ${ms(lat.inApp, 99)} (${fmt(lat.inApp.length)}); ` +
      `trigger -> Web Push sent: p50 ${ms(lat.push, 50)}, p99 ${ms(lat.push, 99)} (${fmt(lat.push.length)}); ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  if (stages.sent === undefined)
    console.log(
      `    stopped waiting after ${fmt(seconds, 1)} s: ${fmt(last.done - start.done)} of ${fmt(deliveries)} deliveries out of queued`,
    );
  return {
    perSecond: stages.sent === undefined ? 0 : TRIGGERS / seconds,
    inApp: lat.inApp.length > 0 ? { p50: percentile(lat.inApp, 50), p99: percentile(lat.inApp, 99) } : undefined,
    path: 'outbox vehicle.alert -> notifications sink -> notification-events -> dispatch -> send -> local Web Push service + SMTP mailbox (processes of their own)',
  };
}
