// The auth bench's clients on their own thread, so that their HTTP work (fetch, JSON) can be told
// apart from the server's in the CPU figures: `concurrency` loops, each one client, for `seconds`.
import { parentPort, workerData } from 'node:worker_threads';
import { currentThreadId } from '../common/cpu.js';

export type ClientJob = {
  url: string;
  seconds: number;
  /** One entry per concurrent client. */
  clients: { email: string; deviceId: string; access?: string; refresh?: string }[];
  password: string;
} & ({ kind: 'sign-in' } | { kind: 'me' } | { kind: 'refresh' });

export type ClientMessage =
  { kind: 'ready'; threadId: number | null } | { kind: 'done'; ops: number; wallSeconds: number; failures: string[] };

const job = workerData as ClientJob;

async function post(path: string, body: unknown, deviceId: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${job.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-client': 'mobile', 'x-device-id': deviceId },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function once(client: ClientJob['clients'][number]): Promise<void> {
  switch (job.kind) {
    case 'sign-in':
      await post('/api/auth/login', { email: client.email, password: job.password }, client.deviceId);
      return;
    case 'me': {
      const res = await fetch(`${job.url}/api/me`, { headers: { authorization: `Bearer ${client.access}` } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`me: ${res.status}`);
      return;
    }
    case 'refresh': {
      const body = await post('/api/sessions/refresh', { refreshToken: client.refresh }, client.deviceId);
      client.refresh = body.refreshToken as string;
      return;
    }
  }
}

// `on`, not `once`: the listener keeps this thread alive until the bench has read its CPU time
// (a thread that ended would show as the server's).
parentPort!.on('message', () => {
  void (async () => {
    const t0 = performance.now();
    const until = t0 + job.seconds * 1000;
    let ops = 0;
    const failures: string[] = [];
    await Promise.all(
      job.clients.map(async (client) => {
        while (performance.now() < until && failures.length === 0) {
          try {
            await once(client);
            ops++;
          } catch (err) {
            failures.push((err as Error).message);
          }
        }
      }),
    );
    parentPort!.postMessage({
      kind: 'done',
      ops,
      wallSeconds: (performance.now() - t0) / 1000,
      failures,
    } satisfies ClientMessage);
  })();
});
parentPort!.postMessage({ kind: 'ready', threadId: currentThreadId() } satisfies ClientMessage);
