import type { Translator } from '@clutch/i18n';
import { startPageLocale, setText } from './locale.js';
import {
  CATEGORIES,
  CHANNELS,
  loadDevices,
  loadSettings,
  removeDevice,
  saveSettings,
  type NotificationChannel,
  type NotificationDevice,
  type NotificationSettings,
} from './notifications-api.js';
import { clearProblem, PageProblem, showProblem } from './problem-view.js';
import { startSessionNav } from './session-nav.js';
import { enableWebPush, pushSupported, thisBrowsersDevice } from './web-push.js';

/**
 * The notification settings (`/notifications.html`, `GET`/`PUT /api/notifications/settings`): the time
 * zone the quiet hours and "do not disturb" are read in, the channels, which topics come by which
 * channel, the phone for text messages; and the devices that get push notifications, with "Enable
 * browser notifications" for this browser (web-push.ts).
 */

const el = <T extends HTMLElement = HTMLElement>(testid: string): T =>
  document.querySelector<T>(`[data-testid="${testid}"]`)!;

/** The wall-clock parts of an instant in a time zone. */
function wallParts(at: number, timeZone: string): Record<string, number> {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(at);
  const out: Record<string, number> = {};
  for (const p of parts) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return out;
}

/** An instant as `datetime-local` shows it, in the user's notification time zone. */
export function toWallTime(iso: string, timeZone: string): string {
  const p = wallParts(Date.parse(iso), timeZone);
  const two = (n: number | undefined): string => String(n ?? 0).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`;
}

/** A `datetime-local` value read in a time zone, as an instant (two passes settle the offset on DST days). */
export function fromWallTime(value: string, timeZone: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!m) throw new Error(`not a local date and time: ${value}`);
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
  const offset = (at: number): number => {
    const p = wallParts(at, timeZone);
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!) - Math.floor(at / 60_000) * 60_000;
  };
  let at = wall - offset(wall);
  at = wall - offset(at);
  return new Date(at).toISOString();
}

function checkbox(testid: string, checked: boolean, label?: string): HTMLInputElement {
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.checked = checked;
  box.dataset.testid = testid;
  if (label) box.setAttribute('aria-label', label);
  return box;
}

function fillTimeZones(select: HTMLSelectElement, current: string): void {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const all = zones.includes(current) ? zones : [current, ...zones];
  select.replaceChildren(
    ...all.map((zone) => {
      const option = document.createElement('option');
      option.value = zone;
      option.textContent = zone; // IANA names are data
      return option;
    }),
  );
  select.value = current;
}

interface Form {
  read(): NotificationSettings;
}

function showSettings(i18n: Translator, s: NotificationSettings): Form {
  const timeZone = el<HTMLSelectElement>('time-zone');
  fillTimeZones(timeZone, s.timeZone);
  const quietOn = el<HTMLInputElement>('quiet-on');
  const quietStart = el<HTMLInputElement>('quiet-start');
  const quietEnd = el<HTMLInputElement>('quiet-end');
  quietOn.checked = s.quietHours !== null;
  if (s.quietHours) {
    quietStart.value = s.quietHours.start;
    quietEnd.value = s.quietHours.end;
  }
  const syncQuiet = (): void => {
    quietStart.disabled = !quietOn.checked;
    quietEnd.disabled = !quietOn.checked;
  };
  quietOn.onchange = syncQuiet;
  syncQuiet();
  const dnd = el<HTMLInputElement>('dnd-until');
  dnd.value = s.doNotDisturbUntil ? toWallTime(s.doNotDisturbUntil, s.timeZone) : '';
  const phone = el<HTMLInputElement>('phone');
  phone.value = s.phone ?? '';

  const channelBoxes = new Map<NotificationChannel, HTMLInputElement>();
  el('channels').replaceChildren(
    ...CHANNELS.map((channel) => {
      const label = document.createElement('label');
      label.className = 'notify-check';
      const box = checkbox(`channel-${channel}`, s.channels[channel] ?? false);
      channelBoxes.set(channel, box);
      const text = document.createElement('span');
      text.textContent = i18n.t('notificationsPage.channel', { channel });
      label.append(box, text);
      return label;
    }),
  );

  const table = el<HTMLTableElement>('categories');
  const head = document.createElement('tr');
  const corner = document.createElement('th');
  corner.scope = 'col';
  corner.textContent = i18n.t('notificationsPage.categoryColumn');
  head.append(corner);
  for (const channel of CHANNELS) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = i18n.t('notificationsPage.channel', { channel });
    head.append(th);
  }
  const categoryBoxes = new Map<string, Map<NotificationChannel, HTMLInputElement>>();
  const rows = CATEGORIES.map((category) => {
    const row = document.createElement('tr');
    row.dataset.category = category;
    const th = document.createElement('th');
    th.scope = 'row';
    const name = i18n.t('notificationsPage.category', { category });
    th.textContent = name;
    row.append(th);
    const boxes = new Map<NotificationChannel, HTMLInputElement>();
    for (const channel of CHANNELS) {
      const td = document.createElement('td');
      const box = checkbox(
        `category-${category}-${channel}`,
        s.categories[category]?.[channel] ?? true,
        i18n.t('notificationsPage.categoryChannel', {
          category: name,
          channel: i18n.t('notificationsPage.channel', { channel }),
        }),
      );
      boxes.set(channel, box);
      td.append(box);
      row.append(td);
    }
    categoryBoxes.set(category, boxes);
    return row;
  });
  table.replaceChildren(head, ...rows);

  return {
    read(): NotificationSettings {
      const zone = timeZone.value;
      const number = phone.value.trim();
      if (number !== '' && !/^\+[1-9]\d{6,14}$/.test(number))
        throw new PageProblem(i18n.t('notificationsPage.phoneInvalid'));
      const channels = Object.fromEntries(CHANNELS.map((c) => [c, channelBoxes.get(c)!.checked])) as Record<
        NotificationChannel,
        boolean
      >;
      const categories = Object.fromEntries(
        [...categoryBoxes].map(([category, boxes]) => [
          category,
          Object.fromEntries(CHANNELS.map((c) => [c, boxes.get(c)!.checked])),
        ]),
      );
      return {
        timeZone: zone,
        quietHours: quietOn.checked ? { start: quietStart.value, end: quietEnd.value } : null,
        doNotDisturbUntil: dnd.value ? fromWallTime(dnd.value, zone) : null,
        phone: number === '' ? null : number,
        channels,
        categories,
      };
    },
  };
}

async function showDevices(i18n: Translator): Promise<void> {
  const list = el('devices');
  const devices = await loadDevices();
  const mine = thisBrowsersDevice();
  el('devices-empty').hidden = devices.length > 0;
  list.replaceChildren(...devices.map((d) => deviceItem(i18n, d, mine)));
}

function deviceItem(i18n: Translator, d: NotificationDevice, mine: string | null): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.testid = 'device';
  li.dataset.id = d.id;
  li.dataset.kind = d.kind;
  const what = document.createElement('strong');
  what.textContent = i18n.t('notificationsPage.deviceKind', { kind: d.kind });
  const added = document.createElement('span');
  added.className = 'muted';
  added.textContent = i18n.t('notificationsPage.deviceAdded', {
    date: i18n.dateTime(d.createdAt, { dateStyle: 'medium' }),
  });
  const label = document.createElement('span');
  label.translate = false; // an endpoint's origin or a token's end: data
  label.textContent = d.label;
  li.append(what, ' ', label, ' ', added);
  if (d.disabledAt !== null) {
    li.dataset.disabled = 'true';
    const gone = document.createElement('span');
    gone.className = 'badge';
    gone.textContent = i18n.t('notificationsPage.deviceDisabled');
    li.append(' ', gone);
    if (d.disabledReason) {
      const reason = document.createElement('span');
      reason.className = 'muted';
      reason.dataset.from = 'api';
      reason.textContent = d.disabledReason;
      li.append(' ', reason);
    }
  }
  if (mine !== null && d.id === mine) {
    const here = document.createElement('span');
    here.className = 'badge';
    here.dataset.testid = 'this-browser';
    here.textContent = i18n.t('notificationsPage.thisBrowser');
    li.append(' ', here);
  }
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'secondary';
  remove.dataset.testid = 'remove-device';
  remove.textContent = i18n.t('notificationsPage.removeDevice');
  remove.addEventListener('click', () => {
    remove.disabled = true;
    const error = el('error');
    clearProblem(error);
    removeDevice(d.id)
      .then(() => showDevices(i18n))
      .catch((err: unknown) => {
        remove.disabled = false;
        showProblem(error, err, i18n);
      });
  });
  li.append(remove);
  return li;
}

function startPushButton(i18n: Translator): void {
  const button = el<HTMLButtonElement>('enable-push');
  const state = el('push-state');
  if (!pushSupported()) {
    button.hidden = true;
    setText(state, i18n.t('notificationsPage.pushUnsupported'));
    return;
  }
  button.addEventListener('click', () => {
    button.disabled = true;
    const error = el('error');
    clearProblem(error);
    void enableWebPush().then(async (outcome) => {
      button.disabled = false;
      state.dataset.state = outcome.state;
      const text = {
        enabled: 'notificationsPage.pushEnabled',
        unsupported: 'notificationsPage.pushUnsupported',
        denied: 'notificationsPage.pushDenied',
        unavailable: 'notificationsPage.pushUnavailable',
        failed: 'notificationsPage.pushFailed',
      } as const;
      setText(state, i18n.t(text[outcome.state]));
      if (outcome.state === 'failed' && outcome.error instanceof Error && 'status' in outcome.error)
        showProblem(error, outcome.error, i18n);
      await showDevices(i18n).catch((err: unknown) => showProblem(error, err, i18n));
    });
  });
}

async function main(): Promise<void> {
  const i18n = await startPageLocale();
  await startSessionNav(i18n, { requireSession: true });
  const status = el('status');
  const error = el('error');
  let form: Form;
  try {
    form = showSettings(i18n, await loadSettings());
  } catch (err) {
    setText(status, i18n.t('notificationsPage.loadFailed'));
    showProblem(error, err, i18n);
    return;
  }
  status.hidden = true;
  const settingsForm = el<HTMLFormElement>('settings-form');
  settingsForm.hidden = false;
  const saved = el('saved');
  const save = el<HTMLButtonElement>('save');
  settingsForm.addEventListener('input', () => {
    saved.hidden = true;
  });
  settingsForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearProblem(error);
    saved.hidden = true;
    let settings: NotificationSettings;
    try {
      settings = form.read();
    } catch (err) {
      showProblem(error, err, i18n);
      return;
    }
    save.disabled = true;
    saveSettings(settings)
      .then((stored) => {
        form = showSettings(i18n, stored ?? settings);
        saved.hidden = false;
      })
      .catch((err: unknown) => showProblem(error, err, i18n))
      .finally(() => {
        save.disabled = false;
      });
  });
  el('devices-panel').hidden = false;
  startPushButton(i18n);
  await showDevices(i18n).catch((err: unknown) => showProblem(error, err, i18n));
  document.body.dataset.state = 'ready';
}

void main();
