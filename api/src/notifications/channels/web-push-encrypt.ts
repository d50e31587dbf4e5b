import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { RequestOptions } from 'web-push';

/**
 * The web-push SDK's request for one message (`generateRequestDetails`: the RFC 8291 encryption with
 * a fresh ECDH key per message, and the headers), made on a worker thread of its own. The per-message
 * ECDH and HKDF were a third of the platform's main thread in the notification bench, whose sends
 * queue behind that one event loop; on the worker they run beside it. The SDK still does all of it,
 * byte for byte as `sendNotification` would; only the HTTP request is the caller's.
 */
export interface PushRequestDetails {
  headers: Record<string, string | number>;
  body: Buffer | null;
}

export interface PushEncryptor {
  details(
    subscription: { endpoint: string; keys: { p256dh: string; auth: string } },
    payload: string,
    options: Omit<RequestOptions, 'agent' | 'timeout'>,
  ): Promise<PushRequestDetails>;
  close(): Promise<void>;
}

interface Job {
  id: number;
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } };
  payload: string;
  options: Omit<RequestOptions, 'agent' | 'timeout'>;
}

type Reply =
  { id: number; headers: Record<string, string | number>; body: Uint8Array | null } | { id: number; error: string };

// Plain CommonJS run with `eval`: no file to find next to the compiled module (tests run the TypeScript).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const webpush = require(workerData.sdk);
parentPort.on('message', (jobs) => {
  const replies = [];
  const transfer = [];
  for (const job of jobs) {
    try {
      const d = webpush.generateRequestDetails(job.subscription, job.payload, job.options);
      const body = d.body ? new Uint8Array(d.body) : null;
      if (body) transfer.push(body.buffer);
      replies.push({ id: job.id, headers: d.headers, body });
    } catch (err) {
      replies.push({ id: job.id, error: err && err.message ? err.message : String(err) });
    }
  }
  parentPort.postMessage(replies, transfer);
});
`;

/**
 * One worker, started on the first message. The requests of one turn of the event loop go to it in
 * one message and come back in one (a batch's sends start together), so the hand-over costs little
 * beside the ECDH it moves. It does not keep the process alive while nothing waits on it.
 */
export function pushEncryptor(): PushEncryptor {
  let worker: Worker | undefined;
  let nextId = 0;
  let queued: Job[] = [];
  const waiting = new Map<number, { resolve: (d: PushRequestDetails) => void; reject: (e: Error) => void }>();

  const failAll = (err: Error): void => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
    worker = undefined;
  };
  const start = (): Worker => {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { sdk: createRequire(import.meta.url).resolve('web-push') },
    });
    w.on('message', (replies: Reply[]) => {
      for (const r of replies) {
        const p = waiting.get(r.id);
        if (!p) continue;
        waiting.delete(r.id);
        if ('error' in r) p.reject(new Error(r.error));
        else
          p.resolve({
            headers: r.headers,
            body: r.body ? Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength) : null,
          });
      }
      if (waiting.size === 0) w.unref();
    });
    w.on('error', (err) => failAll(err));
    w.on('exit', (code) => {
      if (worker === w) failAll(new Error(`web push encryption worker exited (${code})`));
    });
    return w;
  };
  const flush = (): void => {
    const jobs = queued;
    queued = [];
    if (jobs.length === 0) return; // closed meanwhile
    worker ??= start();
    worker.ref();
    worker.postMessage(jobs);
  };

  return {
    details(subscription, payload, options) {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        if (queued.length === 0) setImmediate(flush);
        queued.push({ id, subscription, payload, options });
      });
    },
    async close() {
      const w = worker;
      queued = [];
      failAll(new Error('web push encryption closed'));
      if (w) await w.terminate();
    },
  };
}
