import type { Queryable } from '@clutch/db';
import {
  DEFAULT_CHANNELS,
  NOTIFICATION_CATEGORIES,
  USER_CHANNELS,
  type NotificationCategory,
  type NotificationSettings,
  type UserChannel,
} from './model.js';

interface SettingsRow {
  time_zone: string;
  quiet_start: string | null;
  quiet_end: string | null;
  dnd_until: Date | string | null;
  phone: string | null;
  channels: Record<string, unknown>;
  categories: Record<string, unknown>;
}

const hhmm = (time: string): string => time.slice(0, 5);

/** Stored switches, with anything unknown (a channel or category since removed) left out. */
function channelsOf(stored: Record<string, unknown>): Record<UserChannel, boolean> {
  const channels = { ...DEFAULT_CHANNELS };
  for (const channel of USER_CHANNELS) if (typeof stored[channel] === 'boolean') channels[channel] = stored[channel];
  return channels;
}

function categoriesOf(stored: Record<string, unknown>): NotificationSettings['categories'] {
  const categories: NotificationSettings['categories'] = {};
  for (const category of NOTIFICATION_CATEGORIES) {
    const own = stored[category];
    if (typeof own !== 'object' || own === null) continue;
    const switches: Partial<Record<UserChannel, boolean>> = {};
    for (const channel of USER_CHANNELS) {
      const value = (own as Record<string, unknown>)[channel];
      if (typeof value === 'boolean') switches[channel] = value;
    }
    if (Object.keys(switches).length > 0) categories[category] = switches;
  }
  return categories;
}

/** The defaults for a user who never saved settings: their account's time zone, no quiet hours. */
export function defaultSettings(timeZone: string): NotificationSettings {
  return {
    timeZone,
    quietHours: null,
    doNotDisturbUntil: null,
    phone: null,
    channels: { ...DEFAULT_CHANNELS },
    categories: {},
  };
}

/**
 * A user's settings with the defaults filled in. `accountTimeZone` (users.time_zone) is the zone
 * until the user picks one here.
 */
export async function readSettings(
  q: Queryable,
  userId: string,
  accountTimeZone: string,
): Promise<NotificationSettings> {
  const { rows } = await q.query<SettingsRow>(
    `SELECT time_zone, quiet_start::text AS quiet_start, quiet_end::text AS quiet_end, dnd_until, phone, channels, categories
       FROM notification_settings WHERE user_id = $1`,
    [userId],
  );
  const row = rows[0];
  return row ? settingsOf(row) : defaultSettings(accountTimeZone);
}

function settingsOf(row: SettingsRow): NotificationSettings {
  return {
    timeZone: row.time_zone,
    quietHours:
      row.quiet_start !== null && row.quiet_end !== null
        ? { start: hhmm(row.quiet_start), end: hhmm(row.quiet_end) }
        : null,
    doNotDisturbUntil: row.dnd_until === null ? null : new Date(row.dnd_until),
    phone: row.phone,
    channels: channelsOf(row.channels),
    categories: categoriesOf(row.categories),
  };
}

/** readSettings for many users in one query: user id -> settings (each user's account zone as the default). */
export async function readSettingsOf(
  q: Queryable,
  users: readonly { id: string; timeZone: string }[],
): Promise<Map<string, NotificationSettings>> {
  const found = new Map<string, NotificationSettings>();
  if (users.length === 0) return found;
  const { rows } = await q.query<SettingsRow & { user_id: string }>(
    `SELECT user_id::text AS user_id, time_zone, quiet_start::text AS quiet_start, quiet_end::text AS quiet_end,
            dnd_until, phone, channels, categories
       FROM notification_settings WHERE user_id = ANY ($1::uuid[])`,
    [users.map((u) => u.id)],
  );
  for (const row of rows) found.set(row.user_id, settingsOf(row));
  for (const u of users) if (!found.has(u.id)) found.set(u.id, defaultSettings(u.timeZone));
  return found;
}

/** Stores a user's settings whole (PUT semantics); the caller validated them. */
export async function writeSettings(
  q: Queryable,
  who: { tenantId: string; userId: string },
  settings: NotificationSettings,
): Promise<void> {
  await q.query(
    `INSERT INTO notification_settings (user_id, tenant_id, time_zone, quiet_start, quiet_end, dnd_until, phone, channels, categories, updated_at)
     VALUES ($1, $2, $3, $4::time, $5::time, $6, $7, $8::jsonb, $9::jsonb, now())
     ON CONFLICT (user_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, quiet_start = EXCLUDED.quiet_start,
       quiet_end = EXCLUDED.quiet_end, dnd_until = EXCLUDED.dnd_until, phone = EXCLUDED.phone,
       channels = EXCLUDED.channels, categories = EXCLUDED.categories, updated_at = now()`,
    [
      who.userId,
      who.tenantId,
      settings.timeZone,
      settings.quietHours?.start ?? null,
      settings.quietHours?.end ?? null,
      settings.doNotDisturbUntil,
      settings.phone,
      JSON.stringify(settings.channels),
      JSON.stringify(settings.categories),
    ],
  );
}

/** The categories a settings answer lists, each with every channel's effective value. */
export function effectiveCategories(
  settings: NotificationSettings,
  categoryDefault: (category: NotificationCategory, channel: UserChannel) => boolean,
): Record<NotificationCategory, Record<UserChannel, boolean>> {
  return Object.fromEntries(
    NOTIFICATION_CATEGORIES.map((category) => [
      category,
      Object.fromEntries(
        USER_CHANNELS.map((channel) => [
          channel,
          settings.categories[category]?.[channel] ?? categoryDefault(category, channel),
        ]),
      ),
    ]),
  ) as Record<NotificationCategory, Record<UserChannel, boolean>>;
}
