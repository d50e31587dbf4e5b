// The HTTP load generator on its own thread: autocannon at a fixed overall rate over a weighted mix
// of paths, reporting every response time (autocannon reports no p95) and the status counts.
import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';

export interface HttpLoadJob {
  url: string;
  token: string;
  /** [weight, path] pairs; each request picks one at random by weight. */
  mix: [number, string][];
  rate: number;
  seconds: number;
  connections: number;
}

export interface HttpLoadReport {
  latencies: number[];
  statuses: Record<string, number>;
  /** Answered requests per second: below the asked rate when the server (or a connection) fell behind. */
  requestsPerSecond: number;
}

const job = workerData as HttpLoadJob;
const total = job.mix.reduce((sum, [w]) => sum + w, 0);
const pick = (): string => {
  let r = Math.random() * total;
  for (const [w, path] of job.mix) {
    r -= w;
    if (r <= 0) return path;
  }
  return job.mix.at(-1)![1];
};

const latencies: number[] = [];
const statuses: Record<string, number> = {};
const instance = autocannon(
  {
    url: job.url,
    connections: job.connections,
    overallRate: job.rate,
    duration: job.seconds,
    headers: { authorization: `Bearer ${job.token}`, accept: 'application/json' },
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: pick() }) }],
  },
  (err) => {
    if (err) throw err;
    parentPort!.postMessage({
      latencies,
      statuses,
      requestsPerSecond: latencies.length / job.seconds,
    } satisfies HttpLoadReport);
  },
);
instance.on('response', (_client, status, _bytes, ms) => {
  latencies.push(ms);
  statuses[status] = (statuses[status] ?? 0) + 1;
});
