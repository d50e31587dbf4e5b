import type { ChannelName, ChannelTarget, RenderedNotification, SendResult } from './channel.js';

/**
 * What a push carries to the app or service worker: enough to show the notification and to report
 * it opened (`POST /api/notifications/:notificationId/opened`). `url` is the deep link path.
 */
export interface PushPayload {
  notificationId: string;
  category: string;
  title: string;
  body: string;
  url: string | null;
  badge?: number;
}

const ELLIPSIS = '…';

/**
 * The payload for `message`, its body (then title) shortened so that `encode(payload)` fits in
 * `maxBytes`: providers refuse an oversized push outright, and a push shows a line or two anyway.
 * Null when even an empty body and title do not fit (a huge url): a permanent failure for the caller.
 */
export function fitPayload<T>(
  message: RenderedNotification,
  maxBytes: number,
  encode: (p: PushPayload) => T,
  size: (encoded: T) => number,
): T | null {
  const payload: PushPayload = {
    notificationId: message.notificationId,
    category: message.category,
    title: message.title,
    body: message.body,
    url: message.url,
    ...(message.badge !== undefined ? { badge: message.badge } : {}),
  };
  const fits = (): T | null => {
    const encoded = encode(payload);
    return size(encoded) <= maxBytes ? encoded : null;
  };
  const whole = fits();
  if (whole !== null) return whole;
  for (const field of ['body', 'title'] as const) {
    // The longest prefix (in characters, plus an ellipsis) that fits: a binary search, as escaping in
    // the encoding makes bytes per character uneven.
    const chars = [...payload[field]];
    const cut = (k: number) => (payload[field] = chars.slice(0, k).join('') + ELLIPSIS);
    cut(0);
    if (fits() === null) {
      payload[field] = '';
      continue;
    }
    let lo = 0;
    let hi = chars.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      cut(mid);
      if (fits() !== null) lo = mid;
      else hi = mid - 1;
    }
    cut(lo);
    return fits();
  }
  return fits();
}

/** A target of another channel handed to this sender: a caller bug, never worth retrying. */
export function wrongTarget(channel: ChannelName, target: ChannelTarget): SendResult {
  return {
    ok: false,
    permanent: true,
    invalidTarget: false,
    reason: `a ${target.kind} target cannot be sent on the ${channel} channel`,
  };
}

export function invalidTarget(reason: string): SendResult {
  return { ok: false, permanent: true, invalidTarget: true, reason };
}

export function rejected(reason: string): SendResult {
  return { ok: false, permanent: true, invalidTarget: false, reason };
}

/** Thrown for a transient failure: the notification-send job retries it with backoff. */
export class ChannelUnavailableError extends Error {
  constructor(
    readonly channel: ChannelName,
    message: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(`${channel}: ${message}`);
    this.name = 'ChannelUnavailableError';
  }
}
