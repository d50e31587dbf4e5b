import { createTwilioSmsSender, MAX_SMS_LENGTH } from '@clutch/identity';
import { startTwilioWireServer, type TwilioWireServer } from '@clutch/identity/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeChannelContract, message } from './channel.contract.js';
import { ChannelUnavailableError } from './payload.js';
import { smsSender } from './sms.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'auth-token-for-tests';

async function start(): Promise<{ server: TwilioWireServer; sender: ReturnType<typeof smsSender> }> {
  const server = await startTwilioWireServer({ accountSid: ACCOUNT, authToken: TOKEN });
  const twilio = createTwilioSmsSender({
    accountSid: ACCOUNT,
    authToken: TOKEN,
    from: '+15005550006',
    baseUrl: server.url,
  });
  return { server, sender: smsSender(twilio, { baseUrl: 'https://clutch.example' }) };
}

describeChannelContract('SMS (identity’s Twilio adapter, official SDK) against the local Twilio server', async () => {
  const { server, sender } = await start();
  return {
    sender,
    target: () => ({ kind: 'sms', phone: '+447700900123' }),
    deadTarget: () => {
      // Twilio answers 21614 for a landline: that number can never get a text.
      server.failNext(400, 21614, "'To' number is not a valid mobile number");
      return { kind: 'sms', phone: '+441632960000' };
    },
    failNextTransiently: () => server.failNext(429, 20429, 'Too Many Requests'),
    failNextPermanently: () => server.failNext(400, 21610, 'Attempt to send to unsubscribed recipient'),
    delivered: () => server.messages.map((m) => ({ text: m.body })),
    close: () => server.close(),
  };
});

describe('SMS adapter', () => {
  let server: TwilioWireServer;
  let sender: ReturnType<typeof smsSender>;
  beforeAll(async () => {
    ({ server, sender } = await start());
  });
  afterAll(async () => {
    await server?.close();
  });

  it('sends title, body and the absolute link', async () => {
    expect(await sender.send({ kind: 'sms', phone: '+491701234567' }, message())).toMatchObject({ ok: true });
    expect(server.messages.at(-1)).toMatchObject({
      to: '+491701234567',
      body: 'New message from Ace Garage\nYour car is ready <b>& waiting</b> — pick it up after 5 pm\nhttps://clutch.example/repair-order.html?id=42',
    });
  });

  it('shortens long text but keeps the link whole', async () => {
    await sender.send({ kind: 'sms', phone: '+491701234567' }, message({ body: 'x'.repeat(2000) }));
    const body = server.messages.at(-1)!.body;
    expect(body.length).toBeLessThanOrEqual(MAX_SMS_LENGTH);
    expect(body.endsWith('…\nhttps://clutch.example/repair-order.html?id=42')).toBe(true);
  });

  it('answers a number that is not E.164 as an invalid target without calling Twilio', async () => {
    const before = server.requests.length;
    for (const phone of ['01701234567', '+0123', '+49 170 1234567'])
      expect(await sender.send({ kind: 'sms', phone }, message())).toMatchObject({ ok: false, invalidTarget: true });
    expect(server.requests).toHaveLength(before);
  });

  it('answers Twilio 21211 (invalid To) as an invalid target and 5xx as transient', async () => {
    server.failNext(400, 21211, "Invalid 'To' Phone Number");
    expect(await sender.send({ kind: 'sms', phone: '+15005550001' }, message())).toMatchObject({
      ok: false,
      invalidTarget: true,
    });
    server.failNext(503, 20503, 'Service unavailable');
    await expect(sender.send({ kind: 'sms', phone: '+15005550001' }, message())).rejects.toBeInstanceOf(
      ChannelUnavailableError,
    );
  });
});
