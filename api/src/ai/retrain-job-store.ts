import type { Queryable } from '@clutch/db';
import type { Job } from './jobs.js';
import type { RetrainOptions, RetrainResult } from './retrain-worker.js';

/** The kind of every retrain row (one active per kind: migration 017's unique index). */
export const RETRAIN_KIND = 'retrain';

/** The latest progress lines a job keeps, like the in-memory tracker. */
export const PROGRESS_LINES = 20;

interface AiJobRow {
  id: string;
  kind: string;
  subject: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  request: RetrainOptions;
  progress: string[];
  result: RetrainResult | null;
  error: string | null;
  created_at: Date | string;
  finished_at: Date | string | null;
}

const COLUMNS = 'id, kind, subject, status, request, progress, result, error, created_at, finished_at';

/** The API's view of a row: a job waiting for a worker is already "running" to its caller. */
export function toJob(row: AiJobRow): Job<RetrainResult> {
  return {
    id: row.id,
    kind: row.kind,
    subject: row.subject,
    status: row.status === 'queued' ? 'running' : row.status,
    startedAt: new Date(row.created_at).toISOString(),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at).toISOString(),
    progress: row.progress,
    result: row.result,
    error: row.error,
  };
}

/** The `ai_jobs` table (migration 017): what the API reads and the job worker writes. */
export const aiJobStore = {
  /** Inserts a queued retrain; null when another one is queued or running. */
  async insertQueued(q: Queryable, subject: string, request: RetrainOptions): Promise<Job<RetrainResult> | null> {
    const { rows } = await q.query<AiJobRow>(
      `INSERT INTO ai_jobs (kind, subject, status, request) VALUES ($1, $2, 'queued', $3::jsonb)
       ON CONFLICT (kind) WHERE status IN ('queued', 'running') DO NOTHING RETURNING ${COLUMNS}`,
      [RETRAIN_KIND, subject, JSON.stringify(request)],
    );
    return rows[0] ? toJob(rows[0]) : null;
  },

  async active(q: Queryable): Promise<string | null> {
    const { rows } = await q.query<{ id: string }>(
      `SELECT id FROM ai_jobs WHERE kind = $1 AND status IN ('queued', 'running')`,
      [RETRAIN_KIND],
    );
    return rows[0]?.id ?? null;
  },

  async get(q: Queryable, id: string): Promise<Job<RetrainResult> | null> {
    const { rows } = await q.query<AiJobRow>(`SELECT ${COLUMNS} FROM ai_jobs WHERE id = $1`, [id]);
    return rows[0] ? toJob(rows[0]) : null;
  },

  /**
   * Fails queued or running jobs without a heartbeat for staleSeconds: their worker died (after its
   * last retry) or no worker runs at all. Without this one lost job would block retrains for good.
   */
  async giveUpStale(q: Queryable, staleSeconds: number): Promise<number> {
    const { rowCount } = await q.query(
      `UPDATE ai_jobs SET status = 'failed', finished_at = now(), updated_at = now(),
              error = 'no job worker reported for ' || $2::int || ' s; given up (retry the request)'
        WHERE kind = $1 AND status IN ('queued', 'running') AND updated_at < now() - make_interval(secs => $2::int)`,
      [RETRAIN_KIND, Math.round(staleSeconds)],
    );
    return rowCount;
  },

  /** Takes a queued job (or one a dead worker left running) for this worker; null when it is over. */
  async claim(
    q: Queryable,
    id: string,
  ): Promise<{ subject: string; request: RetrainOptions; progress: string[]; resumed: boolean } | null> {
    // The CTE reads the row as it was before the update: running already means a lost worker's job.
    const { rows } = await q.query<AiJobRow & { was: string }>(
      `WITH old AS (SELECT status FROM ai_jobs WHERE id = $1)
       UPDATE ai_jobs SET status = 'running', updated_at = now()
        WHERE id = $1 AND status IN ('queued', 'running')
        RETURNING subject, request, progress, (SELECT status FROM old) AS was`,
      [id],
    );
    const row = rows[0];
    return row
      ? { subject: row.subject, request: row.request, progress: row.progress, resumed: row.was === 'running' }
      : null;
  },

  /** Progress lines and the heartbeat; a job that is no longer running is left alone. */
  async progress(q: Queryable, id: string, lines: readonly string[]): Promise<void> {
    await q.query(`UPDATE ai_jobs SET progress = $2::jsonb, updated_at = now() WHERE id = $1 AND status = 'running'`, [
      id,
      JSON.stringify(lines),
    ]);
  },

  async heartbeat(q: Queryable, id: string): Promise<void> {
    await q.query(`UPDATE ai_jobs SET updated_at = now() WHERE id = $1 AND status = 'running'`, [id]);
  },

  async finish(q: Queryable, id: string, outcome: { result: RetrainResult } | { error: string }): Promise<void> {
    await q.query(
      `UPDATE ai_jobs SET status = $2, result = $3::jsonb, error = $4, finished_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'running'`,
      'result' in outcome
        ? [id, 'succeeded', JSON.stringify(outcome.result), null]
        : [id, 'failed', null, outcome.error],
    );
  },
};
