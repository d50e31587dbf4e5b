import { randomUUID } from 'node:crypto';
import { apiError } from '../errors.js';

export type JobStatus = 'running' | 'succeeded' | 'failed';

export interface Job<R> {
  id: string;
  kind: string;
  status: JobStatus;
  /** The subject of the job (for a retrain: the model whose lineage it continues). */
  subject: string;
  startedAt: string;
  finishedAt: string | null;
  /** The latest progress lines, oldest first. */
  progress: string[];
  result: R | null;
  error: string | null;
}

const PROGRESS_LINES = 20;
const KEPT_JOBS = 50;

/**
 * Background jobs of this process, kept in memory: one at a time (each one trains on every core we
 * have), the last few kept for `GET /api/ai/jobs/:id`. Lost on restart, which a retrain survives:
 * its result lives in the registry. Used by an API without a job queue (inProcessRetrains); the
 * platform keeps its jobs in `ai_jobs` instead (queuedRetrains).
 */
export class JobTracker<R> {
  private readonly jobs = new Map<string, Job<R>>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  running(): Job<R> | undefined {
    for (const job of this.jobs.values()) if (job.status === 'running') return job;
    return undefined;
  }

  /** Starts `work` without awaiting it; `work` reports progress through its `log` argument. */
  start(kind: string, subject: string, work: (log: (line: string) => void) => Promise<R>): Job<R> {
    const busy = this.running();
    if (busy)
      throw apiError('RETRAIN_RUNNING', `Job ${busy.id} is still running; wait for it to finish`, { jobId: busy.id });
    const job: Job<R> = {
      id: randomUUID(),
      kind,
      subject,
      status: 'running',
      startedAt: this.now().toISOString(),
      finishedAt: null,
      progress: [],
      result: null,
      error: null,
    };
    this.jobs.set(job.id, job);
    this.forgetOld();
    const log = (line: string): void => {
      job.progress.push(line);
      if (job.progress.length > PROGRESS_LINES) job.progress.splice(0, job.progress.length - PROGRESS_LINES);
    };
    // Deferred a tick so the caller's 202 goes out before any synchronous part of the work runs.
    setImmediate(() => {
      work(log).then(
        (result) => Object.assign(job, { status: 'succeeded', result, finishedAt: this.now().toISOString() }),
        (err: unknown) =>
          Object.assign(job, {
            status: 'failed',
            error: err instanceof Error ? err.message : String(err),
            finishedAt: this.now().toISOString(),
          }),
      );
    });
    return job;
  }

  get(id: string): Job<R> {
    const job = this.jobs.get(id);
    if (!job) throw apiError('JOB_NOT_FOUND', `No job with id ${id}`, { jobId: id });
    return job;
  }

  private forgetOld(): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= KEPT_JOBS) return;
      if (job.status !== 'running') this.jobs.delete(id);
    }
  }
}
