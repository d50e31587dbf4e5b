import { z } from 'zod';
import type { ApiRouter } from '../http/route.js';
import { pageParams } from '../http/pagination.js';
import { isoTime, uuid } from '../shared/schemas.js';
import { DELIVERY_STATES, NOTIFICATION_CATEGORIES, USER_CHANNELS } from './model.js';
import { HISTORY_LISTING, INBOX_LISTING } from './repository.js';
import { isAppPath } from './request.js';
import { NOTIFICATION_PAGE, type NotificationsService } from './service.js';

const category = z.enum(NOTIFICATION_CATEGORIES);
const appPath = z
  .string()
  .refine(isAppPath, { error: 'must be a path on the web app (starting with one /)' })
  .describe('Deep link: a path on the web app');

const sendBody = z.strictObject({
  userIds: z.array(uuid).min(1).max(1000).describe('Recipients (1 to 1000)'),
  category,
  title: z.string().trim().min(1).max(200),
  body: z.string().trim().min(1).max(4000),
  url: appPath.optional(),
});
const scheduleBody = sendBody.extend({ sendAt: isoTime.describe('When to send (in the future)') });

const inboxItem = z.object({
  id: z.string(),
  category,
  title: z.string(),
  body: z.string(),
  url: z.string().nullable(),
  createdAt: z.string().describe('When it arrived'),
  readAt: z.string().nullable(),
});

const historyItem = inboxItem.extend({
  userId: z.string(),
  status: z.enum(['scheduled', 'pending', 'dispatched', 'cancelled']),
  urgent: z.boolean(),
  createdAt: z.string().describe('When it was requested'),
  sendAt: z.string(),
  dispatchedAt: z.string().nullable(),
  openedAt: z.string().nullable(),
  sentBy: z.string().nullable().describe('`user:<id>` or `admin` for an administrator’s send; null for events'),
  deliveries: z.array(
    z.object({
      id: z.string(),
      channel: z.enum(USER_CHANNELS),
      deviceId: z.string().nullable(),
      state: z.enum(DELIVERY_STATES),
      attempts: z.number().int(),
      deferredUntil: z.string().nullable().describe('While deferred: when quiet hours or do-not-disturb end'),
      error: z.string().nullable(),
      updatedAt: z.string(),
    }),
  ),
});

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'must be HH:MM (24 h)' });
const switches = z.strictObject(
  Object.fromEntries(USER_CHANNELS.map((c) => [c, z.boolean()])) as Record<
    (typeof USER_CHANNELS)[number],
    z.ZodBoolean
  >,
);
const partialSwitches = switches.partial();

const settingsBody = z.strictObject({
  timeZone: z.string().min(1).max(64).describe('IANA time zone, e.g. Europe/Berlin'),
  quietHours: z
    .strictObject({ start: hhmm, end: hhmm })
    .nullable()
    .describe('Local times; an end before the start crosses midnight (22:00 to 07:00)'),
  doNotDisturbUntil: isoTime.nullable(),
  phone: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, { error: 'must be an E.164 number (+ and 7 to 15 digits)' })
    .nullable(),
  channels: switches,
  categories: z
    .strictObject(
      Object.fromEntries(NOTIFICATION_CATEGORIES.map((c) => [c, partialSwitches.optional()])) as Record<
        (typeof NOTIFICATION_CATEGORIES)[number],
        z.ZodOptional<typeof partialSwitches>
      >,
    )
    .describe('Per category and channel; a channel not named keeps its default'),
});

const settingsView = z.object({
  timeZone: z.string(),
  quietHours: z.object({ start: z.string(), end: z.string() }).nullable(),
  doNotDisturbUntil: z.string().nullable(),
  phone: z.string().nullable(),
  channels: switches,
  categories: z.record(category, switches),
});

/** base64url without padding: an RFC 8291 P-256 public key is 65 bytes (87 chars), the auth secret 16 (22). */
const base64url = (bytes: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, { error: 'must be base64url' })
    .refine((s) => Buffer.from(s, 'base64url').length === bytes, { error: `must decode to ${bytes} bytes` });

const deviceBody = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('web_push'),
    subscription: z.object({
      endpoint: z
        .url({ protocol: /^https$/, error: 'must be an https URL' })
        .max(2048)
        .describe('PushSubscription.endpoint'),
      keys: z.object({ p256dh: base64url(65), auth: base64url(16) }),
    }),
  }),
  z.strictObject({
    kind: z.literal('fcm'),
    token: z.string().regex(/^[A-Za-z0-9_:\-.]{20,4096}$/, { error: 'is not an FCM registration token' }),
  }),
  z.strictObject({
    kind: z.literal('apns'),
    token: z
      .string()
      .regex(/^[0-9a-fA-F]{64,200}$/, { error: 'is not an APNs device token (hex)' })
      .transform((s) => s.toLowerCase()),
  }),
]);

const deviceView = z.object({
  id: z.string(),
  kind: z.enum(['web_push', 'fcm', 'apns']),
  label: z.string().describe("The endpoint's origin or the token's last characters"),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  disabledAt: z.string().nullable().describe('Set when the provider said the token or subscription is gone'),
  disabledReason: z.string().nullable(),
});

const idParams = z.object({ id: uuid });
const sentIds = z.object({ ids: z.array(z.string()).describe('One notification per recipient, in request order') });

export function notificationRoutes(router: ApiRouter, notifications: NotificationsService): void {
  router.route({
    method: 'post',
    path: '/notifications/send',
    tag: 'notifications',
    summary:
      "Send an administrator's message to users now (a partner admin: users of their organisation; platform staff: anyone), audited; each user's channels, preferences and quiet hours apply",
    access: { permission: 'notifications:send', perResource: 'service' },
    body: sendBody,
    response: { status: 202, description: 'Accepted: stored and queued', schema: sentIds },
    errors: ['USER_NOT_FOUND', 'JOBS_UNAVAILABLE'],
    handle: ({ scope, principal, body }) => notifications.send(scope, principal, body),
  });

  router.route({
    method: 'post',
    path: '/notifications/schedule',
    tag: 'notifications',
    summary:
      'Schedule an administrator’s message for `sendAt` (durable: the job queue holds it); quiet hours may defer it further',
    access: { permission: 'notifications:send', perResource: 'service' },
    body: scheduleBody,
    response: { status: 202, description: 'Accepted: stored and scheduled', schema: sentIds },
    errors: ['USER_NOT_FOUND', 'NOTIFICATION_SCHEDULE_INVALID', 'JOBS_UNAVAILABLE'],
    handle: ({ scope, principal, body }) => notifications.send(scope, principal, body),
  });

  router.route({
    method: 'delete',
    path: '/notifications/schedule/:id',
    tag: 'notifications',
    summary: 'Withdraw a scheduled message before it goes out',
    access: { permission: 'notifications:send', perResource: 'service' },
    params: idParams,
    response: { status: 204, description: 'Cancelled' },
    errors: ['NOTIFICATION_NOT_FOUND', 'NOTIFICATION_STATE_CONFLICT'],
    handle: async ({ scope, principal, params }) => {
      await notifications.cancel(scope, principal, params.id);
      return undefined;
    },
  });

  router.route({
    method: 'get',
    path: '/notifications/history',
    tag: 'notifications',
    summary:
      "The caller's notifications, newest first, with every delivery's state per channel (an administrator with notifications:send: `userId` of their organisation, audited)",
    access: 'authenticated',
    query: z.object({
      userId: uuid.optional().describe('Another user (administrators)'),
      ...pageParams(HISTORY_LISTING, NOTIFICATION_PAGE),
    }),
    response: {
      status: 200,
      description: 'A page of notifications',
      schema: z.object({ items: z.array(historyItem), next: z.string().nullable() }),
    },
    errors: ['USER_NOT_FOUND'],
    handle: ({ scope, principal, policy, query }) =>
      notifications.history(scope, principal, policy, query.userId, query),
  });

  router.route({
    method: 'get',
    path: '/notifications/inbox',
    tag: 'notifications',
    summary: "The caller's in-app inbox, newest first, with the unread count",
    access: 'authenticated',
    query: z.object({
      unread: z
        .enum(['true', 'false'])
        .optional()
        .transform((v) => v === 'true')
        .describe('Only unread ones'),
      ...pageParams(INBOX_LISTING, NOTIFICATION_PAGE),
    }),
    response: {
      status: 200,
      description: 'A page of the inbox',
      schema: z.object({ items: z.array(inboxItem), next: z.string().nullable(), unread: z.number().int() }),
    },
    handle: ({ scope, principal, query }) => notifications.inbox(scope, principal, query.unread, query),
  });

  router.route({
    method: 'put',
    path: '/notifications/:id/read',
    tag: 'notifications',
    summary: 'Mark one inbox notification read',
    access: 'authenticated',
    params: idParams,
    response: { status: 200, description: 'The notification', schema: inboxItem },
    errors: ['NOTIFICATION_NOT_FOUND'],
    handle: ({ scope, principal, params }) => notifications.read(scope, principal, params.id),
  });

  router.route({
    method: 'post',
    path: '/notifications/read-all',
    tag: 'notifications',
    summary: "Mark the caller's whole inbox read",
    access: 'authenticated',
    response: { status: 200, description: 'How many were unread', schema: z.object({ updated: z.number().int() }) },
    handle: ({ scope, principal }) => notifications.readAll(scope, principal),
  });

  router.route({
    method: 'post',
    path: '/notifications/:id/opened',
    tag: 'notifications',
    summary: 'The user opened a notification (clicked the push or the inbox entry): read, and its deliveries `opened`',
    access: 'authenticated',
    params: idParams,
    response: { status: 200, description: 'The notification', schema: inboxItem },
    errors: ['NOTIFICATION_NOT_FOUND'],
    handle: ({ scope, principal, params }) => notifications.opened(scope, principal, params.id),
  });

  router.route({
    method: 'get',
    path: '/notifications/settings',
    tag: 'notifications',
    summary: "The caller's notification settings, defaults filled in",
    access: 'authenticated',
    response: { status: 200, description: 'The settings', schema: settingsView },
    handle: ({ scope, principal }) => notifications.settings(scope, principal),
  });

  router.route({
    method: 'put',
    path: '/notifications/settings',
    tag: 'notifications',
    summary:
      "Replace the caller's notification settings: time zone, quiet hours, do-not-disturb, phone (SMS), channels and per-category switches",
    access: 'authenticated',
    body: settingsBody,
    response: { status: 200, description: 'The settings as stored', schema: settingsView },
    errors: ['NOTIFICATION_SETTINGS_INVALID'],
    handle: ({ scope, principal, body }) =>
      notifications.saveSettings(scope, principal, {
        ...body,
        categories: Object.fromEntries(Object.entries(body.categories).filter(([, v]) => v !== undefined)),
      }),
  });

  router.route({
    method: 'get',
    path: '/notifications/devices',
    tag: 'notifications',
    summary: "The caller's push targets (browsers, FCM and APNs apps), disabled ones with the provider's reason",
    access: 'authenticated',
    response: { status: 200, description: 'The devices', schema: z.object({ devices: z.array(deviceView) }) },
    handle: ({ scope, principal }) => notifications.devices(scope, principal),
  });

  router.route({
    method: 'post',
    path: '/notifications/devices',
    tag: 'notifications',
    summary:
      'Register a push target for the caller: a Web Push subscription, an FCM registration token or an APNs device token (one registered before, by anyone, moves to the caller)',
    access: 'authenticated',
    body: deviceBody,
    response: { status: 201, description: 'The device', schema: deviceView },
    handle: ({ scope, principal, body }) =>
      notifications.addDevice(
        scope,
        principal,
        body.kind === 'web_push'
          ? {
              kind: 'web_push',
              endpoint: body.subscription.endpoint,
              p256dh: body.subscription.keys.p256dh,
              auth: body.subscription.keys.auth,
            }
          : { kind: body.kind, token: body.token },
      ),
  });

  router.route({
    method: 'delete',
    path: '/notifications/devices/:id',
    tag: 'notifications',
    summary: 'Remove one of the caller’s push targets',
    access: 'authenticated',
    params: idParams,
    response: { status: 204, description: 'Removed' },
    errors: ['NOTIFICATION_DEVICE_NOT_FOUND'],
    handle: async ({ scope, principal, params }) => {
      await notifications.removeDevice(scope, principal, params.id);
      return undefined;
    },
  });

  router.route({
    method: 'get',
    path: '/notifications/web-push/key',
    tag: 'notifications',
    summary: "The server's VAPID public key, for PushManager.subscribe({applicationServerKey})",
    access: 'authenticated',
    response: { status: 200, description: 'The key (base64url)', schema: z.object({ publicKey: z.string() }) },
    errors: ['WEB_PUSH_NOT_CONFIGURED'],
    handle: async () => notifications.webPushKey(),
  });
}
