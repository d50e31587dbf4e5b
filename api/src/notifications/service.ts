import { randomUUID } from 'node:crypto';
import { PLATFORM_TENANT } from '@clutch/identity';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import type { Principal, UserPrincipal } from '../auth/principal.js';
import type { RequestPolicy } from '../auth/policy.js';
import type { Scope } from '../auth/scope.js';
import { apiError } from '../errors.js';
import type { Page, PageRequest } from '../http/pagination.js';
import { toIso } from '../shared/time.js';
import type { NotificationChannels } from './channels/channel.js';
import {
  categoryDefault,
  type DeliveryState,
  type InboxItem,
  type NotificationCategory,
  type NotificationSettings,
  type UserChannel,
} from './model.js';
import { isTimeZone } from './quiet-hours.js';
import {
  cancelScheduled,
  deleteDevice,
  deliveriesOf,
  historyPage,
  inboxPage,
  listDevices,
  markAllRead,
  markOpened,
  markRead,
  recipients,
  registerDevice,
  scheduledForUpdate,
  unreadCount,
  type DeviceRow,
  type InboxRow,
} from './repository.js';
import { requestNotifications } from './request.js';
import { effectiveCategories, readSettings, writeSettings } from './settings.js';

export const NOTIFICATION_PAGE = { defaultLimit: 50, maxLimit: 200 } as const;

export interface SendInput {
  userIds: readonly string[];
  category: NotificationCategory;
  title: string;
  body: string;
  url?: string | undefined;
  sendAt?: Date | undefined;
}

export interface HistoryItem extends InboxItem {
  userId: string;
  status: string;
  urgent: boolean;
  sendAt: string;
  dispatchedAt: string | null;
  openedAt: string | null;
  sentBy: string | null;
  deliveries: {
    id: string;
    channel: string;
    deviceId: string | null;
    state: DeliveryState;
    attempts: number;
    deferredUntil: string | null;
    error: string | null;
    updatedAt: string;
  }[];
}

export interface SettingsView {
  timeZone: string;
  quietHours: { start: string; end: string } | null;
  doNotDisturbUntil: string | null;
  phone: string | null;
  channels: Record<UserChannel, boolean>;
  categories: Record<NotificationCategory, Record<UserChannel, boolean>>;
}

export interface DeviceView {
  id: string;
  kind: DeviceRow['kind'];
  /** The endpoint's origin or the token's last characters: enough to recognise it, not to use it. */
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
  disabledAt: string | null;
  disabledReason: string | null;
}

const inboxItem = (row: InboxRow): InboxItem => ({
  id: row.id,
  category: row.category,
  title: row.title,
  body: row.body,
  url: row.url,
  createdAt: toIso(row.arrived_at) ?? '',
  readAt: toIso(row.read_at),
});

function deviceView(row: DeviceRow): DeviceView {
  let label = row.token ? `…${row.token.slice(-8)}` : '';
  if (row.endpoint)
    try {
      label = new URL(row.endpoint).origin;
    } catch {
      label = 'web push';
    }
  return {
    id: row.id,
    kind: row.kind,
    label,
    createdAt: toIso(row.created_at) ?? '',
    lastUsedAt: toIso(row.last_used_at),
    disabledAt: toIso(row.disabled_at),
    disabledReason: row.disabled_reason,
  };
}

/** The signed-in user a personal route acts for; API keys and the admin token have no inbox. */
export function ownUser(principal: Principal): UserPrincipal {
  if (principal.kind !== 'user') throw apiError('FORBIDDEN', 'Only a signed-in user has notifications');
  return principal;
}

/** Notifications over REST (docs/notifications.md): the inbox, history, settings, devices and administrators' sends. */
export class NotificationsService {
  constructor(private readonly deps: { jobs?: JobEnqueuer | undefined; channels?: NotificationChannels | undefined }) {}

  /**
   * Where an administrator's work runs and which tenant's users it may reach: a partner admin their
   * own organisation (null: any tenant for platform staff and the admin token), audited either way.
   */
  private administration(
    scope: Scope,
    principal: Principal,
    use: { action: string; target?: string; detail?: Record<string, unknown> },
  ): { where: Scope; tenantId: string | null } {
    if (principal.kind === 'user' && principal.tenantId !== PLATFORM_TENANT)
      return { where: scope.ownOrganisation({ ...use, tenantId: principal.tenantId }), tenantId: principal.tenantId };
    return { where: scope.audited(use), tenantId: null };
  }

  /** An administrator's own message to users (now, or at `sendAt`): 202 with one id per recipient. */
  async send(scope: Scope, principal: Principal, input: SendInput): Promise<{ ids: string[] }> {
    const jobs = this.deps.jobs;
    if (!jobs) throw apiError('JOBS_UNAVAILABLE', 'Notifications need the job queue, which this API runs without');
    if (input.sendAt !== undefined && input.sendAt.getTime() <= Date.now())
      throw apiError('NOTIFICATION_SCHEDULE_INVALID', 'sendAt must be in the future', {
        sendAt: input.sendAt.toISOString(),
      });
    const userIds = [...new Set(input.userIds)];
    const { where, tenantId } = this.administration(scope, principal, {
      action: input.sendAt ? 'notification.schedule' : 'notification.send',
      detail: {
        category: input.category,
        title: input.title,
        recipients: userIds.length,
        sendAt: input.sendAt?.toISOString() ?? null,
      },
    });
    const batch = randomUUID();
    const sentBy = principal.kind === 'user' ? `user:${principal.userId}` : 'admin';
    const ids = await where.run(async (q) => {
      const found = await recipients(q, userIds, tenantId);
      const known = new Map(found.map((u) => [u.id, u.tenant_id]));
      const missing = userIds.filter((id) => !known.has(id));
      // Unknown and another organisation's users get the same answer: ids cannot be probed.
      if (missing.length > 0)
        throw apiError('USER_NOT_FOUND', `No user to notify with id ${missing.join(', ')}`, { userIds: missing });
      return requestNotifications(
        q,
        jobs,
        userIds.map((userId) => ({
          tenantId: known.get(userId)!,
          userId,
          category: input.category,
          template: 'notify.announcement',
          params: { title: input.title, body: input.body },
          url: input.url,
          dedupeKey: `send:${batch}:${userId}`,
          sendAt: input.sendAt,
          createdBy: sentBy,
        })),
      );
    });
    return { ids };
  }

  /** Withdraws a scheduled send before it goes out (409 once it went). */
  async cancel(scope: Scope, principal: Principal, id: string): Promise<void> {
    const { where, tenantId } = this.administration(scope, principal, { action: 'notification.cancel', target: id });
    await where.run(async (q) => {
      const row = await scheduledForUpdate(q, id, tenantId);
      if (!row) throw apiError('NOTIFICATION_NOT_FOUND', `No scheduled notification ${id}`);
      if (row.status !== 'scheduled')
        throw apiError('NOTIFICATION_STATE_CONFLICT', `Notification ${id} is ${row.status}, not scheduled`, {
          status: row.status,
        });
      await cancelScheduled(q, id);
    });
  }

  async inbox(
    scope: Scope,
    principal: Principal,
    unread: boolean,
    page: PageRequest,
  ): Promise<{ items: InboxItem[]; next: string | null; unread: number }> {
    const user = ownUser(principal);
    return scope.run(async (q) => {
      const { items, next } = await inboxPage(q, user.userId, unread, page);
      return { items: items.map(inboxItem), next, unread: await unreadCount(q, user.userId) };
    });
  }

  /**
   * A user's notifications with each delivery's state: the caller's own, or (`userId`) one of their
   * organisation's users for an administrator holding notifications:send there (audited).
   */
  async history(
    scope: Scope,
    principal: Principal,
    policy: RequestPolicy,
    userId: string | undefined,
    page: PageRequest,
  ): Promise<Page<HistoryItem>> {
    const self = principal.kind === 'user' && (userId === undefined || userId === principal.userId);
    let where: Scope;
    let subject: string;
    if (self) {
      where = scope;
      subject = principal.userId;
    } else {
      if (userId === undefined) throw apiError('FORBIDDEN', 'Only a signed-in user has notifications');
      const administration = this.administration(scope, principal, { action: 'notification.history', target: userId });
      const allowed =
        principal.kind === 'admin' ||
        (principal.kind === 'user' &&
          (
            await policy.decide('notifications:send', {
              type: 'tenant',
              id: principal.tenantId,
              tenantId: principal.tenantId,
            })
          ).allow);
      if (!allowed) throw apiError('FORBIDDEN', "You read other people's notifications only as their administrator");
      where = administration.where;
      subject = userId;
      const tenantId = administration.tenantId;
      const found = await where.run((q) => recipients(q, [userId], tenantId));
      if (found.length === 0) throw apiError('USER_NOT_FOUND', `No user ${userId}`);
    }
    return where.run(async (q) => {
      const { items, next } = await historyPage(q, subject, page);
      const deliveries = await deliveriesOf(
        q,
        items.map((i) => i.id),
      );
      return {
        next,
        items: items.map((row) => ({
          id: row.id,
          userId: row.user_id,
          category: row.category,
          title: row.title,
          body: row.body,
          url: row.url,
          createdAt: toIso(row.created_at) ?? '',
          readAt: toIso(row.read_at),
          status: row.status,
          urgent: row.urgent,
          sendAt: toIso(row.send_at) ?? '',
          dispatchedAt: toIso(row.dispatched_at),
          openedAt: toIso(row.opened_at),
          sentBy: row.created_by,
          deliveries: deliveries
            .filter((d) => d.notification_id === row.id)
            .map((d) => ({
              id: d.id,
              channel: d.channel,
              deviceId: d.device_id,
              state: d.state,
              attempts: d.attempts,
              deferredUntil: toIso(d.deferred_until),
              error: d.error,
              updatedAt: toIso(d.updated_at) ?? '',
            })),
        })),
      };
    });
  }

  async read(scope: Scope, principal: Principal, id: string): Promise<InboxItem> {
    const user = ownUser(principal);
    const row = await scope.run((q) => markRead(q, user.userId, id));
    if (!row) throw apiError('NOTIFICATION_NOT_FOUND', `No notification ${id} in your inbox`);
    return inboxItem(row);
  }

  async readAll(scope: Scope, principal: Principal): Promise<{ updated: number }> {
    const user = ownUser(principal);
    return { updated: await scope.run((q) => markAllRead(q, user.userId)) };
  }

  async opened(scope: Scope, principal: Principal, id: string): Promise<InboxItem> {
    const user = ownUser(principal);
    const row = await scope.run((q) => markOpened(q, user.userId, id));
    if (!row) throw apiError('NOTIFICATION_NOT_FOUND', `No notification ${id} of yours`);
    return inboxItem(row);
  }

  async settings(scope: Scope, principal: Principal): Promise<SettingsView> {
    const user = ownUser(principal);
    return scope.run(async (q) => view(await readSettings(q, user.userId, await accountTimeZone(q, user.userId))));
  }

  async saveSettings(
    scope: Scope,
    principal: Principal,
    input: Omit<NotificationSettings, 'doNotDisturbUntil'> & { doNotDisturbUntil: Date | null },
  ): Promise<SettingsView> {
    const user = ownUser(principal);
    if (!isTimeZone(input.timeZone))
      throw apiError('NOTIFICATION_SETTINGS_INVALID', `${input.timeZone} is not a time zone`, {
        errors: [{ pointer: '/body/timeZone', detail: 'is not an IANA time zone' }],
      });
    if (input.quietHours && input.quietHours.start === input.quietHours.end)
      throw apiError('NOTIFICATION_SETTINGS_INVALID', 'Quiet hours must start and end at different times', {
        errors: [{ pointer: '/body/quietHours', detail: 'start equals end' }],
      });
    await scope.run((q) => writeSettings(q, { tenantId: user.tenantId, userId: user.userId }, input));
    return this.settings(scope, principal);
  }

  async devices(scope: Scope, principal: Principal): Promise<{ devices: DeviceView[] }> {
    const user = ownUser(principal);
    return { devices: (await scope.run((q) => listDevices(q, user.userId))).map(deviceView) };
  }

  async addDevice(
    scope: Scope,
    principal: Principal,
    device: Parameters<typeof registerDevice>[1],
  ): Promise<DeviceView> {
    ownUser(principal);
    return deviceView(await scope.run((q) => registerDevice(q, device)));
  }

  async removeDevice(scope: Scope, principal: Principal, id: string): Promise<void> {
    const user = ownUser(principal);
    if (!(await scope.run((q) => deleteDevice(q, user.userId, id))))
      throw apiError('NOTIFICATION_DEVICE_NOT_FOUND', `No device ${id} of yours`);
  }

  webPushKey(): { publicKey: string } {
    const publicKey = this.deps.channels?.web_push?.publicKey;
    if (!publicKey) throw apiError('WEB_PUSH_NOT_CONFIGURED');
    return { publicKey };
  }
}

async function accountTimeZone(q: Parameters<typeof readSettings>[0], userId: string): Promise<string> {
  const { rows } = await q.query<{ time_zone: string }>('SELECT time_zone FROM users WHERE id = $1', [userId]);
  return rows[0]?.time_zone ?? 'UTC';
}

function view(settings: NotificationSettings): SettingsView {
  return {
    timeZone: settings.timeZone,
    quietHours: settings.quietHours,
    doNotDisturbUntil: settings.doNotDisturbUntil?.toISOString() ?? null,
    phone: settings.phone,
    channels: settings.channels,
    categories: effectiveCategories(settings, categoryDefault),
  };
}
