export {
  NOTIFICATION_EVENTS_QUEUE,
  NOTIFICATION_EVENTS_SETTINGS,
  NOTIFYING_TOPICS,
  notificationEventJob,
  notificationsSink,
  type NotificationEventJob,
  type NotificationEventsJobData,
} from './sink.js';
export { defineNotificationEventJobs, notifyForEvent, type NotificationEventDeps } from './job.js';
export { MAPPERS, newTroubleCodes, requestsFor, type MapperContext } from './mapping.js';
export { vehicleAudience, shopStaff, customerOf, loadRecipients, type Recipient } from './audience.js';
