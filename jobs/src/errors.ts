import { ClutchError } from '@clutch/contracts';

/** The jobs error catalogue: stable codes callers compare on (never the message). */
export const jobsErrors = {
  JOBS_NOT_STARTED: 'the job queue is not started: call start() first',
  QUEUE_NOT_DECLARED: 'enqueue to a queue this process has not declared (define or declare it at start)',
  JOBS_DRIVER_UNSUPPORTED: 'this database cannot carry the job queue (a PostgreSQL database needs its URL)',
  OUTBOX_TOPIC_INVALID: 'an outbox topic is 1-128 characters of a-z 0-9 . _ - starting with a letter or digit',
} as const;

export type JobsErrorCode = keyof typeof jobsErrors;

export function jobsError(code: JobsErrorCode, details?: Record<string, unknown>): ClutchError {
  return new ClutchError(code, jobsErrors[code], details);
}
