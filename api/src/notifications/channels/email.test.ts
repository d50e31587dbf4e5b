import { startSmtpEmulator, type SmtpEmulator } from '@clutch/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeChannelContract, message } from './channel.contract.js';
import { emailSender } from './email.js';
import { ChannelUnavailableError } from './payload.js';

describeChannelContract('email (nodemailer) against the local SMTP server', async () => {
  const em = await startSmtpEmulator();
  const sender = emailSender({
    smtpUrl: em.url,
    from: 'Clutch <notify@clutch.example>',
    baseUrl: 'https://clutch.example',
  });
  let n = 0;
  return {
    sender,
    target: () => ({ kind: 'email', address: `owner${++n}@example.com` }),
    deadTarget: () => {
      em.rejectRecipient('gone@example.com');
      return { kind: 'email', address: 'gone@example.com' };
    },
    failNextTransiently: () => em.failNext(451),
    failNextPermanently: () => em.failNext(554),
    delivered: () => em.messages.map((m) => ({ text: `${m.subject}\n${m.text}` })),
    close: async () => {
      sender.close();
      await em.close();
    },
  };
});

describe('email adapter', () => {
  let em: SmtpEmulator;
  let sender: ReturnType<typeof emailSender>;
  beforeAll(async () => {
    em = await startSmtpEmulator();
    sender = emailSender({
      smtpUrl: em.url,
      from: 'Clutch <notify@clutch.example>',
      baseUrl: 'https://clutch.example/',
    });
  });
  afterAll(async () => {
    sender?.close();
    await em?.close();
  });

  it('sends plain text and escaped HTML with a link to the page and an unsubscribe header', async () => {
    const result = await sender.send({ kind: 'email', address: 'Owner@Example.com' }, message());
    expect(result).toMatchObject({ ok: true });
    const mail = await em.waitFor((m) => m.to.includes('owner@example.com'));
    expect(mail.subject).toBe('New message from Ace Garage');
    expect(mail.from).toMatch(/Clutch"? <notify@clutch.example>$/);
    expect(mail.text).toContain('Your car is ready <b>& waiting</b> — pick it up after 5 pm');
    expect(mail.text).toContain('Open in Clutch: https://clutch.example/repair-order.html?id=42');
    expect(mail.text).toContain('https://clutch.example/notifications.html');
    expect(mail.html).toContain('Your car is ready &#60;b&#62;&#38; waiting&#60;/b&#62;');
    expect(mail.html).not.toContain('<b>');
    expect(mail.html).toContain('href="https://clutch.example/repair-order.html?id=42"');
    expect(mail.headers['list-unsubscribe']).toBe('<https://clutch.example/notifications.html>');
    expect(mail.headers['auto-submitted']).toBe('auto-generated');
    expect(mail.messageId).toBe('<0b4c3f0e-8d7a-4f5e-9c1b-2a3d4e5f6a7b.notification@clutch.example>');
  });

  it('never links outside the platform', async () => {
    await sender.send({ kind: 'email', address: 'links@example.com' }, message({ url: '//evil.example/x' }));
    const mail = await em.waitFor((m) => m.to.includes('links@example.com'));
    expect(mail.html).not.toContain('evil.example');
    expect(mail.text).not.toContain('evil.example');
  });

  it('refuses addresses that could inject headers, without connecting', async () => {
    const before = em.messages.length;
    for (const address of [
      'a@b',
      'x@example.com\r\nBcc: all@example.com',
      'Name <x@example.com>',
      'no-at.example.com',
    ]) {
      expect(await sender.send({ kind: 'email', address }, message())).toMatchObject({
        ok: false,
        invalidTarget: true,
      });
    }
    expect(em.messages).toHaveLength(before);
  });

  it('throws on 4xx at RCPT (greylisting) and reports 552 at RCPT as a permanent non-target failure', async () => {
    em.failNext(450, { stage: 'rcpt' });
    await expect(sender.send({ kind: 'email', address: 'grey@example.com' }, message())).rejects.toBeInstanceOf(
      ChannelUnavailableError,
    );
    em.failNext(552, { stage: 'rcpt', message: '5.2.2 Mailbox full' });
    expect(await sender.send({ kind: 'email', address: 'full@example.com' }, message())).toMatchObject({
      ok: false,
      permanent: true,
      invalidTarget: false,
    });
  });

  it('over a pool of a few connections, answers each of many sends at once with that message’s own outcome', async () => {
    const pooled = emailSender({
      smtpUrl: em.url,
      from: 'Clutch <notify@clutch.example>',
      baseUrl: 'https://clutch.example',
      maxConnections: 3,
    });
    try {
      expect(pooled.concurrency).toBe(3);
      const connectionsBefore = em.connections;
      em.rejectRecipient('gone-a@example.com');
      em.rejectRecipient('gone-b@example.com');
      em.failNext(554, { stage: 'data', message: '5.7.1 Message refused' });
      const addresses = Array.from({ length: 14 }, (_, i) =>
        i === 3 ? 'gone-a@example.com' : i === 9 ? 'gone-b@example.com' : `pool${i}@example.com`,
      );
      const results = await Promise.all(
        addresses.map((address, i) =>
          pooled.send({ kind: 'email', address }, message({ notificationId: `pool-${i}`, title: `Pooled ${i}` })),
        ),
      );
      // The refused recipients are dead targets; exactly one other message was refused after DATA.
      expect(results[3]).toMatchObject({ ok: false, invalidTarget: true });
      expect(results[9]).toMatchObject({ ok: false, invalidTarget: true });
      const refused = results.filter((r) => !r.ok && !r.invalidTarget);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ permanent: true, reason: expect.stringMatching(/^554 /) });
      // Every `ok` is a mail in the mailbox with its own Message-ID, and nothing else arrived.
      const sent = results.flatMap((r, i) => (r.ok ? [{ i, id: r.providerMessageId }] : []));
      expect(sent).toHaveLength(11);
      for (const { i, id } of sent) expect(id).toBe(`<pool-${i}.notification@clutch.example>`);
      const arrived = em.messages.filter((m) => m.subject.startsWith('Pooled '));
      expect(arrived.map((m) => m.subject).sort()).toEqual(sent.map(({ i }) => `Pooled ${i}`).sort());
      // Over the pool's connections, not one per message (a refused message may cost its connection).
      expect(em.connections - connectionsBefore).toBeLessThanOrEqual(3 + 3);
    } finally {
      pooled.close();
      em.acceptRecipient('gone-a@example.com');
      em.acceptRecipient('gone-b@example.com');
    }
  });

  it('throws when the SMTP server is unreachable', async () => {
    const down = emailSender({
      smtpUrl: 'smtp://127.0.0.1:9',
      from: 'x@clutch.example',
      baseUrl: 'https://clutch.example',
    });
    await expect(down.send({ kind: 'email', address: 'a@example.com' }, message())).rejects.toBeInstanceOf(
      ChannelUnavailableError,
    );
    down.close();
  });

  it('keeps the newest messages in a bounded mailbox and still finds new mail after a trim', async () => {
    const small = await startSmtpEmulator({ keep: 2 });
    const to = emailSender({ smtpUrl: small.url, from: 'x@clutch.example', baseUrl: 'https://clutch.example' });
    const waiting = small.waitFor((m) => m.to.includes('third@example.com'));
    for (const name of ['first', 'second', 'third'])
      await to.send({ kind: 'email', address: `${name}@example.com` }, message());
    expect((await waiting).to).toEqual(['third@example.com']);
    expect(small.messages.map((m) => m.to[0])).toEqual(['second@example.com', 'third@example.com']);
    small.clear();
    expect(small.received).toHaveLength(0);
    to.close();
    await small.close();
  });

  it('to a mail server that parses on read: stored as sent, read by mailparser when read, in order', async () => {
    const relay = await startSmtpEmulator({ parse: 'on-read', keep: 3 });
    const to = emailSender({
      smtpUrl: relay.url,
      from: 'Clutch <notify@clutch.example>',
      baseUrl: 'https://clutch.example',
    });
    try {
      for (const name of ['first', 'second', 'third', 'fourth'])
        await to.send({ kind: 'email', address: `${name}@example.com` }, message({ title: `To ${name}` }));
      // Accepted and stored (envelope and source), nothing parsed yet; the oldest dropped beyond `keep`.
      expect(relay.received.map((m) => m.envelope.to)).toEqual([
        ['second@example.com'],
        ['third@example.com'],
        ['fourth@example.com'],
      ]);
      expect(relay.received[0]!.raw).toMatch(/^Subject: To second\r$/m);
      expect(relay.messages).toHaveLength(0);
      const read = await relay.read();
      expect(read.map((m) => [m.to, m.subject])).toEqual([
        [['second@example.com'], 'To second'],
        [['third@example.com'], 'To third'],
        [['fourth@example.com'], 'To fourth'],
      ]);
      expect(read[2]!.text).toContain('Open in Clutch: https://clutch.example/repair-order.html?id=42');
      expect(relay.messages).toBe(read);
      // A mail arriving while a test waits for it is parsed for it.
      const waiting = relay.waitFor((m) => m.subject === 'To fifth');
      await to.send({ kind: 'email', address: 'fifth@example.com' }, message({ title: 'To fifth' }));
      expect((await waiting).to).toEqual(['fifth@example.com']);
      expect(relay.messages.map((m) => m.subject)).toEqual(['To third', 'To fourth', 'To fifth']);
    } finally {
      to.close();
      await relay.close();
    }
  });
});
