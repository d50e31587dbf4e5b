import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevSmsSender, type DevSmsSender } from './dev-sender.js';
import { SmsDeliveryError, type SmsSender } from './sms-sender.js';
import { createTwilioSmsSender } from './twilio-sender.js';
import { startTwilioWireServer, type TwilioWireServer } from './twilio-wire-server.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'auth-token-for-tests';

/** What every SmsSender must do, and how to read back what it delivered. */
interface Subject {
  sender: SmsSender;
  delivered(): { id: string; to: string; body: string }[];
  close(): Promise<void>;
}

const subjects: [string, () => Promise<Subject>][] = [
  [
    'Twilio adapter (official SDK) against a local server speaking Twilio’s wire format',
    async () => {
      const server = await startTwilioWireServer({ accountSid: ACCOUNT, authToken: TOKEN });
      const sender = createTwilioSmsSender({
        accountSid: ACCOUNT,
        authToken: TOKEN,
        from: '+15005550006',
        baseUrl: server.url,
      });
      return {
        sender,
        delivered: () => server.messages.map((m) => ({ id: m.sid, to: m.to, body: m.body })),
        close: () => server.close(),
      };
    },
  ],
  [
    'development sender',
    async () => {
      const sender: DevSmsSender = createDevSmsSender();
      return {
        sender,
        delivered: () => sender.sent.map((m) => ({ id: m.id, to: m.to, body: m.body })),
        close: async () => {},
      };
    },
  ],
];

describe.each(subjects)('SmsSender contract: %s', (_name, start) => {
  let subject: Subject;
  beforeAll(async () => {
    subject = await start();
  });
  afterAll(async () => {
    await subject?.close();
  });

  it('delivers a message to an E.164 number and answers with the id it is known by', async () => {
    const { id } = await subject.sender.send({ to: '+447700900123', body: 'Your Clutch code is 123456' });
    expect(id).toMatch(/\S/);
    expect(subject.delivered().at(-1)).toEqual({ id, to: '+447700900123', body: 'Your Clutch code is 123456' });
  });

  it('refuses a number that is not E.164 as a permanent failure, delivering nothing', async () => {
    const before = subject.delivered().length;
    for (const to of ['07700900123', '+0123456789', '+1 555 0100', '']) {
      const err = await subject.sender.send({ to, body: 'x' }).catch((e: unknown) => e);
      expect(err, to).toBeInstanceOf(SmsDeliveryError);
      expect((err as SmsDeliveryError).permanent).toBe(true);
    }
    expect(subject.delivered().length).toBe(before);
  });

  it('refuses an empty or oversized body', async () => {
    await expect(subject.sender.send({ to: '+447700900123', body: '' })).rejects.toBeInstanceOf(SmsDeliveryError);
    await expect(subject.sender.send({ to: '+447700900123', body: 'x'.repeat(641) })).rejects.toBeInstanceOf(
      SmsDeliveryError,
    );
  });
});

describe('Twilio adapter: wire format and provider failures', () => {
  let server: TwilioWireServer;
  beforeAll(async () => {
    server = await startTwilioWireServer({ accountSid: ACCOUNT, authToken: TOKEN });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('posts a form to the Messages resource with Basic auth, from a Messaging Service when configured', async () => {
    const sender = createTwilioSmsSender({
      accountSid: ACCOUNT,
      authToken: TOKEN,
      messagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
      baseUrl: server.url,
    });
    const { id } = await sender.send({ to: '+15558675310', body: 'hello' });
    expect(id).toMatch(/^SM[0-9a-f]{32}$/);
    const request = server.requests.at(-1)!;
    expect(request).toEqual({
      method: 'POST',
      path: `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`,
      authorization: `Basic ${Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64')}`,
      contentType: expect.stringMatching(/^application\/x-www-form-urlencoded/),
    });
    expect(server.messages.at(-1)).toMatchObject({
      messagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
      from: null,
    });
  });

  it('reports a wrong auth token, and a provider-side refusal with its Twilio code', async () => {
    const wrong = createTwilioSmsSender({
      accountSid: ACCOUNT,
      authToken: 'nope',
      from: '+15005550006',
      baseUrl: server.url,
    });
    const auth = (await wrong.send({ to: '+15558675310', body: 'x' }).catch((e: unknown) => e)) as SmsDeliveryError;
    expect(auth).toBeInstanceOf(SmsDeliveryError);
    expect(auth.providerCode).toBe(20003);
    expect(auth.permanent).toBe(false);

    const sender = createTwilioSmsSender({
      accountSid: ACCOUNT,
      authToken: TOKEN,
      from: '+15005550006',
      baseUrl: server.url,
    });
    server.failNext(400, 21610, 'Attempt to send to unsubscribed recipient');
    const blocked = (await sender.send({ to: '+15558675310', body: 'x' }).catch((e: unknown) => e)) as SmsDeliveryError;
    expect(blocked.providerCode).toBe(21610);
    expect(blocked.permanent).toBe(true);
  });

  it('reports an unreachable provider as a temporary failure', async () => {
    const closed = await startTwilioWireServer({ accountSid: ACCOUNT, authToken: TOKEN });
    await closed.close();
    const sender = createTwilioSmsSender({
      accountSid: ACCOUNT,
      authToken: TOKEN,
      from: '+15005550006',
      baseUrl: closed.url,
    });
    const err = (await sender.send({ to: '+15558675310', body: 'x' }).catch((e: unknown) => e)) as SmsDeliveryError;
    expect(err).toBeInstanceOf(SmsDeliveryError);
    expect(err.permanent).toBe(false);
  });
});
