export {
  createJobQueue,
  DEAD_QUEUE,
  type BatchJobHandler,
  type BatchQueueSettings,
  type DeadJob,
  type DeadJobPage,
  type EnqueueOptions,
  type JobContext,
  type JobHandler,
  type JobQueue,
  type JobQueueOptions,
  type JobResult,
  type NewJob,
  type QueueSettings,
  type ScheduleInfo,
} from './queue/job-queue.js';
export { appendEvent, appendEvents, type NewOutboxEvent } from './outbox/append.js';
export { startOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox/relay.js';
export { listenerFor, postgresListener, OUTBOX_CHANNEL, type Listen } from './outbox/listen.js';
export { pruneDeliveredEvents } from './outbox/prune.js';
export {
  appendLiveEvent,
  appendLiveEvents,
  liveBusSink,
  liveEventOf,
  LIVE_TOPICS,
  type OutboxLiveEvent,
} from './outbox/live-events.js';
export type { OutboxEvent, OutboxSink } from './outbox/event.js';
export { jobsErrors, jobsError, type JobsErrorCode } from './errors.js';
