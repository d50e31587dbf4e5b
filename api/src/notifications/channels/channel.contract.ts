import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelSender, ChannelTarget, RenderedNotification } from './channel.js';

/**
 * What every ChannelSender must do, run by each adapter's test against the local server that
 * speaks its provider's wire format. The dispatcher (notification-send jobs) relies on exactly this:
 * `ok: true` only for a message the provider accepted, `invalidTarget` when the device token /
 * address must be forgotten, a throw when trying again later can help.
 */
export interface ChannelContractSubject {
  sender: ChannelSender;
  /** A target the provider delivers to. */
  target(): ChannelTarget | Promise<ChannelTarget>;
  /** A target the provider answers as unknown / unregistered / not deliverable, for good. */
  deadTarget(): ChannelTarget | Promise<ChannelTarget>;
  /** The provider fails the next send in a way worth retrying (rate limit, 5xx, 4xx SMTP). */
  failNextTransiently(): void;
  /** The provider refuses the next send for good, for a reason other than the target. */
  failNextPermanently(): void;
  /** What recipients were handed, oldest first: the text they see (title and body somewhere in it). */
  delivered(): { text: string }[];
  close(): Promise<void>;
}

export function message(overrides: Partial<RenderedNotification> = {}): RenderedNotification {
  return {
    notificationId: '0b4c3f0e-8d7a-4f5e-9c1b-2a3d4e5f6a7b',
    category: 'chat',
    title: 'New message from Ace Garage',
    body: 'Your car is ready <b>& waiting</b> — pick it up after 5 pm',
    url: '/repair-order.html?id=42',
    locale: 'en',
    ...overrides,
  };
}

const otherTarget: Record<ChannelTarget['kind'], ChannelTarget> = {
  web_push: { kind: 'sms', phone: '+447700900123' },
  fcm: { kind: 'email', address: 'someone@example.com' },
  apns: { kind: 'fcm', token: 'x' },
  email: { kind: 'apns', token: 'ab'.repeat(32) },
  sms: { kind: 'web_push', endpoint: 'https://push.example/x', p256dh: 'x', auth: 'y' },
};

export function describeChannelContract(name: string, start: () => Promise<ChannelContractSubject>): void {
  describe(`ChannelSender contract: ${name}`, () => {
    let s: ChannelContractSubject;
    beforeAll(async () => {
      s = await start();
    });
    afterAll(async () => {
      await s?.close();
    });

    it('delivers a message and reports it sent only once the provider accepted it', async () => {
      const before = s.delivered().length;
      const result = await s.sender.send(await s.target(), message());
      expect(result).toMatchObject({ ok: true });
      const got = s.delivered();
      expect(got).toHaveLength(before + 1);
      expect(got.at(-1)?.text).toContain('New message from Ace Garage');
      expect(got.at(-1)?.text).toContain('Your car is ready');
    });

    it('answers a dead target as invalidTarget (so the token is removed), delivering nothing', async () => {
      const before = s.delivered().length;
      const result = await s.sender.send(await s.deadTarget(), message());
      expect(result).toMatchObject({ ok: false, permanent: true, invalidTarget: true });
      expect(s.delivered()).toHaveLength(before);
    });

    it('throws on a transient failure, and the retry delivers', async () => {
      const target = await s.target();
      const before = s.delivered().length;
      s.failNextTransiently();
      await expect(s.sender.send(target, message())).rejects.toThrow();
      expect(s.delivered()).toHaveLength(before);
      expect(await s.sender.send(target, message())).toMatchObject({ ok: true });
      expect(s.delivered()).toHaveLength(before + 1);
    });

    it('reports a permanent refusal as failed, never as sent, and keeps the target', async () => {
      const before = s.delivered().length;
      s.failNextPermanently();
      const result = await s.sender.send(await s.target(), message());
      expect(result.ok).toBe(false);
      expect(result).toMatchObject({ permanent: true, invalidTarget: false });
      expect(s.delivered()).toHaveLength(before);
    });

    it('refuses a target of another channel without calling the provider', async () => {
      const before = s.delivered().length;
      const result = await s.sender.send(otherTarget[s.sender.channel], message());
      expect(result).toMatchObject({ ok: false, permanent: true, invalidTarget: false });
      expect(s.delivered()).toHaveLength(before);
    });
  });
}
