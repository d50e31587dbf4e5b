import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webPushSender } from '@clutch/api';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  communicationConfig,
  loadOrCreateChatKeys,
  loadOrCreateVapidKeys,
  startCommunication,
} from './communication.js';

const root = mkdtempSync(join(tmpdir(), 'clutch-communication-'));
const dataDir = join(root, 'pglite');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('communication settings', () => {
  it('defaults to local files under the data directory, with no provider', () => {
    const config = communicationConfig({}, dataDir);
    expect(config).toMatchObject({
      vapid: undefined,
      fcm: undefined,
      apns: undefined,
      smtp: undefined,
      storage: { kind: 'local-disk', dir: join(root, 'attachments') },
      dir: join(root, 'communication'),
      mailboxPort: 0,
      webPushConnections: 32,
      smtpConnections: 20,
    });
  });

  it('reads providers, storage and keys from the environment', () => {
    const account = join(root, 'service-account.json');
    writeFileSync(account, JSON.stringify({ project_id: 'demo-project', client_email: 'a@b.iam.gserviceaccount.com' }));
    const config = communicationConfig(
      {
        CLUTCH_VAPID_PUBLIC_KEY: 'pub',
        CLUTCH_VAPID_PRIVATE_KEY: 'priv',
        CLUTCH_VAPID_SUBJECT: 'mailto:ops@example.com',
        CLUTCH_FCM_SERVICE_ACCOUNT: account,
        CLUTCH_SMTP_URL: 'smtp://mail.example.com:587',
        CLUTCH_MAIL_FROM: 'Garage <n@example.com>',
        CLUTCH_PUBLIC_URL: 'https://clutch.example.com/',
        CLUTCH_STORAGE: 's3://uploads/clutch?endpoint=http://127.0.0.1:9000&region=eu-central-1',
        CLUTCH_DEV_MAILBOX_PORT: '3025',
        CLUTCH_APNS_KEY: '-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----',
        CLUTCH_APNS_KEY_ID: 'ABC123DEFG',
        CLUTCH_APNS_TEAM_ID: 'TEAM123456',
        CLUTCH_APNS_BUNDLE_ID: 'com.example.clutch',
        CLUTCH_APNS_SANDBOX: '1',
        CLUTCH_WEB_PUSH_CONNECTIONS: '64',
        CLUTCH_SMTP_CONNECTIONS: '4',
      },
      dataDir,
    );
    expect(config).toMatchObject({ webPushConnections: 64, smtpConnections: 4 });
    expect(config.vapid).toEqual({ publicKey: 'pub', privateKey: 'priv', subject: 'mailto:ops@example.com' });
    expect(config.fcm?.serviceAccount).toMatchObject({ project_id: 'demo-project' });
    expect(config.smtp).toEqual({ url: 'smtp://mail.example.com:587', from: 'Garage <n@example.com>' });
    expect(config.publicUrl).toBe('https://clutch.example.com');
    expect(config.storage).toMatchObject({ kind: 's3', bucket: 'uploads', prefix: 'clutch', region: 'eu-central-1' });
    expect(config.mailboxPort).toBe(3025);
    expect(config.apns).toMatchObject({
      keyId: 'ABC123DEFG',
      teamId: 'TEAM123456',
      bundleId: 'com.example.clutch',
      sandbox: true,
    });
  });

  it('refuses half a configuration with a message naming what is missing', () => {
    expect(() => communicationConfig({ CLUTCH_VAPID_PUBLIC_KEY: 'pub' }, dataDir)).toThrow(/CLUTCH_VAPID_PRIVATE_KEY/);
    expect(() => communicationConfig({ CLUTCH_APNS_KEY: '-----BEGIN PRIVATE KEY-----x' }, dataDir)).toThrow(
      /CLUTCH_APNS_KEY_ID/,
    );
    expect(() => communicationConfig({ CLUTCH_DEV_MAILBOX_PORT: 'x' }, dataDir)).toThrow(/CLUTCH_DEV_MAILBOX_PORT/);
    for (const bad of ['0', '2.5', 'many', '1001'])
      expect(() => communicationConfig({ CLUTCH_SMTP_CONNECTIONS: bad }, dataDir)).toThrow(/CLUTCH_SMTP_CONNECTIONS/);
    expect(() => communicationConfig({ CLUTCH_WEB_PUSH_CONNECTIONS: '-1' }, dataDir)).toThrow(
      /CLUTCH_WEB_PUSH_CONNECTIONS/,
    );
  });

  it('makes a VAPID pair once, kept owner-only, that the Web Push sender accepts', () => {
    const file = join(root, 'keys', 'vapid.json');
    const first = loadOrCreateVapidKeys(file);
    expect(loadOrCreateVapidKeys(file)).toEqual(first);
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(Buffer.from(first.publicKey, 'base64url')).toHaveLength(65);
    expect(() => webPushSender({ vapid: { ...first, subject: 'mailto:a@b.example' } })).not.toThrow();
  });

  it('makes a chat key ring once and reads it back the same', () => {
    const file = join(root, 'keys', 'chat-keys.json');
    const ring = loadOrCreateChatKeys(file);
    expect(ring.keys.get(ring.currentKeyId)).toHaveLength(32);
    expect(loadOrCreateChatKeys(file).keys.get(ring.currentKeyId)).toEqual(ring.keys.get(ring.currentKeyId));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ current: ring.currentKeyId });
  });

  it('without providers, runs the dev mailbox and a local push service, and lists what they received', async () => {
    const running = await startCommunication(
      communicationConfig({}, join(root, 'run', 'pglite')),
      pino({ level: 'silent' }),
    );
    try {
      expect(Object.keys(running.channels).sort()).toEqual(['email', 'sms', 'web_push']);
      const subscription = (await (await fetch(`${running.mailboxUrl}push/subscribe`, { method: 'POST' })).json()) as {
        endpoint: string;
        keys: { p256dh: string; auth: string };
      };
      const result = await running.channels.web_push!.send(
        { kind: 'web_push', endpoint: subscription.endpoint, ...subscription.keys },
        { notificationId: 'n1', category: 'chat', title: 'Hello', body: 'From the shop', url: '/', locale: 'en' },
      );
      expect(result.ok).toBe(true);
      const mail = await running.channels.email!.send(
        { kind: 'email', address: 'owner@example.com' },
        { notificationId: 'n2', category: 'chat', title: 'Hello', body: 'By mail', url: '/', locale: 'en' },
      );
      expect(mail.ok).toBe(true);
      // The platform's other mail (account mail, receipts) lands in the same mailbox.
      await running.devMailer!.send({
        to: 'new-user@example.com',
        subject: 'Confirm your email',
        text: 'Follow the link',
      });
      const listed = (await (await fetch(running.mailboxUrl!)).json()) as {
        mail: { to: string[]; text: string }[];
        push: { data: { body: string } }[];
      };
      expect(listed.push.map((p) => p.data.body)).toEqual(['From the shop']);
      expect(listed.mail.map((m) => m.to)).toEqual([['owner@example.com'], ['new-user@example.com']]);
      expect(listed.mail[0]!.text).toContain('By mail');
    } finally {
      await running.close();
    }
  });

  it('keeps what the dev mailbox and push service received, and the push service its subscriptions, across a restart', async () => {
    const config = communicationConfig({}, join(root, 'restart', 'pglite'));
    const logger = pino({ level: 'silent' });
    const first = await startCommunication(config, logger);
    let subscription: { endpoint: string; keys: { p256dh: string; auth: string } };
    try {
      subscription = (await (await fetch(`${first.mailboxUrl}push/subscribe`, { method: 'POST' })).json()) as {
        endpoint: string;
        keys: { p256dh: string; auth: string };
      };
      const pushed = await first.channels.web_push!.send(
        { kind: 'web_push', endpoint: subscription.endpoint, ...subscription.keys },
        { notificationId: 'n1', category: 'chat', title: 'Hello', body: 'Before the restart', url: '/', locale: 'en' },
      );
      expect(pushed.ok).toBe(true);
      await first.devMailer!.send({ to: 'owner@example.com', subject: 'Your car is ready', text: 'Pick it up' });
    } finally {
      await first.close();
    }
    const second = await startCommunication(config, logger);
    try {
      await second.devMailer!.send({ to: 'owner@example.com', subject: 'Invoice', text: 'Paid' });
      await second.mailbox!.waitFor((m) => m.subject === 'Invoice');
      // The device the platform registered before the restart still gets its pushes.
      const again = await second.channels.web_push!.send(
        { kind: 'web_push', endpoint: subscription.endpoint, ...subscription.keys },
        { notificationId: 'n2', category: 'chat', title: 'Hello', body: 'After the restart', url: '/', locale: 'en' },
      );
      expect(again.ok).toBe(true);
      const listed = (await (await fetch(second.mailboxUrl!)).json()) as {
        mail: { subject: string }[];
        push: { data: { body: string } }[];
      };
      expect(listed.mail.map((m) => m.subject)).toEqual(['Your car is ready', 'Invoice']);
      expect(listed.push.map((p) => p.data.body)).toEqual(['Before the restart', 'After the restart']);
    } finally {
      await second.close();
    }
    // The file holds one line per item, nothing twice, once this run has flushed too.
    const lines = readFileSync(join(config.dir, 'dev-mailbox.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { subject: string }).subject)).toEqual(['Your car is ready', 'Invoice']);
  });
});
