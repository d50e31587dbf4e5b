// What the platform and the event wiring use of notifications (docs/notifications.md).
export { requestNotifications, isAppPath, type NotificationRequest } from './request.js';
export {
  declareNotificationQueues,
  defineNotificationJobs,
  dispatchNotification,
  dispatchNotifications,
  sendDelivery,
  sendDeliveries,
  type SendAttempt,
  type NotificationJobDeps,
} from './jobs.js';
export {
  NOTIFICATION_DISPATCH_QUEUE,
  NOTIFICATION_DISPATCH_SETTINGS,
  NOTIFICATION_SEND_QUEUE,
  NOTIFICATION_SEND_SETTINGS,
  type DispatchJobData,
  type SendJobData,
} from './queues.js';
export {
  NOTIFICATION_CATEGORIES,
  USER_CHANNELS,
  DELIVERY_STATES,
  type NotificationCategory,
  type UserChannel,
  type DeliveryState,
  type InboxItem,
} from './model.js';
export { holdUntil, quietWindowEnd, isTimeZone } from './quiet-hours.js';
