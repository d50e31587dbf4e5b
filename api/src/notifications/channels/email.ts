import { createTranslator, type Translator } from '@clutch/i18n';
import { connect, type Socket } from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import type { ChannelSender, RenderedNotification, SendResult } from './channel.js';
import { composeMail, isPlainAddress, normalAddress, senderOf } from './mime.js';
import { ChannelUnavailableError, invalidTarget, rejected, wrongTarget } from './payload.js';

export interface EmailOptions {
  /** A nodemailer transport, or the SMTP URL to build a pooled one from (`smtp://user:pass@host:587`). */
  transport?: Transporter;
  smtpUrl?: string;
  /**
   * With `smtpUrl`: SMTP connections kept open side by side (default 10), each carrying one message
   * at a time; also the sends a batch has in flight on this sender.
   */
  maxConnections?: number;
  /** The sender, e.g. `Clutch <notifications@clutch.example>`. */
  from: string;
  /** The platform's public origin (`https://clutch.example`): links in the mail are absolute. */
  baseUrl: string;
  /** The notification settings page, the target of List-Unsubscribe (default `/notifications.html`). */
  settingsPath?: string;
}

/** SMTP replies to RCPT TO meaning the mailbox does not exist or cannot exist (RFC 5321 §4.2.3, RFC 3463 5.1.x). */
const NO_SUCH_MAILBOX = new Set([550, 551, 553]);
/** Conservative: no spaces, controls or angle brackets (header injection), one @, a dot in the domain. */
const ADDRESS = /^[^\s@<>()[\]\\,;:"\p{Cc}]+@[^\s@<>()[\]\\,;:"\p{Cc}]+\.[^\s@<>()[\]\\,;:"\p{Cc}]+$/u;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
  link: string | null;
  settingsUrl: string;
}

/** The plain-text and HTML bodies of one notification; every literal comes from the message catalogue. */
export function renderEmail(
  message: RenderedNotification,
  t: Translator,
  baseUrl: string,
  settingsPath: string,
): RenderedEmail {
  const origin = baseUrl.replace(/\/+$/, '');
  // Only paths on the platform: a notification never links a recipient to another site.
  const link =
    message.url !== null && message.url.startsWith('/') && !message.url.startsWith('//') ? origin + message.url : null;
  const settingsUrl = origin + settingsPath;
  const text = [
    message.body,
    ...(link ? ['', t.t('mail.notification.openLink', { link })] : []),
    '',
    '-- ',
    t.t('mail.notification.reason'),
    t.t('mail.notification.manageLink', { link: settingsUrl }),
  ].join('\n');
  const paragraphs = message.body
    .split(/\n{2,}/)
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`)
    .join('\n');
  const html = [
    '<!doctype html>',
    `<html lang="${escapeHtml(message.locale)}" dir="${t.dir}">`,
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>',
    '<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1a1a1a;max-width:36rem;margin:0 auto;padding:1rem">',
    `<h1 style="font-size:1.25rem">${escapeHtml(message.title)}</h1>`,
    paragraphs,
    ...(link
      ? [
          `<p><a href="${escapeHtml(link)}" style="display:inline-block;padding:.5rem 1rem;background:#0b5cad;color:#fff;text-decoration:none;border-radius:4px">${escapeHtml(t.t('mail.notification.openButton'))}</a></p>`,
        ]
      : []),
    '<hr style="border:none;border-top:1px solid #ddd">',
    `<p style="font-size:.85rem;color:#555">${escapeHtml(t.t('mail.notification.reason'))} <a href="${escapeHtml(settingsUrl)}">${escapeHtml(t.t('mail.notification.manage'))}</a></p>`,
    '</body></html>',
  ].join('\n');
  return { subject: message.title, text, html, link, settingsUrl };
}

/**
 * nodemailer's pooled SMTP transport for `smtpUrl`. The pool settings go in the URL's query: given
 * an object with `url`, nodemailer reads only the URL and drops every other option, so
 * `{url, pool: true, maxConnections}` was a plain transport opening a new connection (greeting,
 * EHLO, ..., QUIT) for every message. Settings the URL already has are left as they are.
 *
 * On a plain `smtp:` URL (STARTTLS or none, no proxy) the pool's sockets have Nagle's algorithm
 * off: on a kept-open connection a write that follows another before the server's ACK (a message's
 * end-of-data after its body) waited for the server's delayed ACK, tens of ms per mail, which is
 * a connection's whole rate. Without Nagle each write is a segment of its own, and nodemailer
 * streams a message in dozens of small chunks (each header, boundary and encoded line): the writes
 * of one turn of the event loop are sent together (coalesceWrites), a few segments per message.
 */
function pooledTransport(smtpUrl: string, maxConnections: number): Transporter {
  const url = new URL(smtpUrl);
  const defaults = { pool: 'true', maxConnections: String(maxConnections), maxMessages: '500' };
  for (const [key, value] of Object.entries(defaults)) if (!url.searchParams.has(key)) url.searchParams.set(key, value);
  const transport = nodemailer.createTransport(url.toString());
  if (url.protocol === 'smtp:' && !url.searchParams.has('proxy')) {
    // nodemailer takes a connected socket from the pool's `getSocket` (as `connection`).
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(url.port) || 587;
    (transport.transporter as unknown as { getSocket: GetSocket }).getSocket = (_options, callback) => {
      const socket = connect({ host, port });
      const failed = (err: Error): void => callback(err);
      socket.once('error', failed);
      // nodemailer's own connection timeout (2 minutes) starts only once it has the socket.
      socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error(`connection to ${host}:${port} timed out`)));
      socket.once('connect', () => {
        socket.off('error', failed);
        socket.setTimeout(0);
        socket.setNoDelay(true);
        coalesceWrites(socket);
        callback(null, { connection: socket });
      });
    };
  }
  return transport;
}

const CONNECT_TIMEOUT_MS = 120_000;

/**
 * Holds the socket's writes (cork) from the first write of a turn of the event loop until that turn's
 * I/O is done (setImmediate), then sends them in one system call: a message streamed in many chunks
 * cost a send (and a segment, and a wake-up of the server) per chunk, most of a mail's CPU. A reply
 * the server waits for is never held back longer than that turn.
 */
function coalesceWrites(socket: Socket): void {
  let held = false;
  const release = (): void => {
    held = false;
    socket.uncork();
  };
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((...args: unknown[]): boolean => {
    if (!held) {
      held = true;
      socket.cork();
      setImmediate(release);
    }
    return write(...args);
  }) as Socket['write'];
}

type GetSocket = (
  options: unknown,
  callback: (err: Error | null, socketOptions?: { connection: Socket }) => void,
) => void;

/** Notification email over SMTP with nodemailer. */
export function emailSender(options: EmailOptions): ChannelSender & { close(): void } {
  if ((options.transport === undefined) === (options.smtpUrl === undefined))
    throw new Error('email: set exactly one of transport and smtpUrl');
  const base = new URL(options.baseUrl);
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error('email: baseUrl must be http(s)');
  const settingsPath = options.settingsPath ?? '/notifications.html';
  // A pool of kept-open SMTP connections: each message takes several round trips on its connection,
  // so a batch of sends (docs/notifications.md, "Batches") is bounded by how many run side by side.
  // Ten stays polite to a relay; a connection is renewed after 500 messages rather than nodemailer's 100.
  const maxConnections = options.maxConnections ?? 10;
  if (!Number.isInteger(maxConnections) || maxConnections < 1)
    throw new Error('email: maxConnections must be a positive integer');
  const transport: Transporter = options.transport ?? pooledTransport(options.smtpUrl!, maxConnections);
  // The From line and MAIL FROM address once, as nodemailer makes them (null: nodemailer composes each mail).
  const sender = senderOf(options.from);
  const translators = new Map<string, Translator>();
  const translator = (locale: string): Translator => {
    let t = translators.get(locale);
    if (!t) translators.set(locale, (t = createTranslator(locale)));
    return t;
  };

  return {
    channel: 'email',
    concurrency: maxConnections,
    async send(target, message): Promise<SendResult> {
      if (target.kind !== 'email') return wrongTarget('email', target);
      if (target.address.length > 254 || !ADDRESS.test(target.address))
        return invalidTarget('not a deliverable email address');
      const mail = renderEmail(message, translator(message.locale), options.baseUrl, settingsPath);
      const id = message.notificationId.replace(/[^A-Za-z0-9._-]/g, '');
      // The same notification retried keeps its Message-ID, so mail clients show it once.
      const messageId = `<${id}.notification@${base.hostname}>`;
      const headers = [
        ['List-Unsubscribe', `<${mail.settingsUrl}>`],
        ['Auto-Submitted', 'auto-generated'],
        ['X-Clutch-Notification', id],
      ] as const;
      try {
        // An ASCII recipient (nearly all): the message composed here in one pass (./mime.ts), as
        // nodemailer would have; any other address goes through nodemailer's composer.
        const info = (await (sender !== null && isPlainAddress(target.address)
          ? transport.sendMail({
              envelope: { from: sender.address, to: [normalAddress(target.address)] },
              raw: composeMail({
                from: sender,
                to: normalAddress(target.address),
                subject: mail.subject,
                text: mail.text,
                html: mail.html,
                messageId,
                headers,
              }),
              messageId,
            })
          : transport.sendMail({
              from: options.from,
              to: target.address,
              subject: mail.subject,
              text: mail.text,
              html: mail.html,
              messageId,
              headers: Object.fromEntries(headers),
            }))) as { rejected?: unknown[] };
        if (Array.isArray(info.rejected) && info.rejected.length > 0)
          return invalidTarget('the SMTP server refused the recipient');
        return { ok: true, providerMessageId: messageId };
      } catch (err) {
        const e = err as {
          responseCode?: number;
          code?: string;
          command?: string;
          response?: string;
          message?: string;
        };
        const reply = `${e.responseCode ?? ''} ${e.response ?? e.message ?? String(err)}`.trim();
        if (e.code === 'EAUTH' || typeof e.responseCode !== 'number' || e.responseCode < 500)
          throw new ChannelUnavailableError('email', reply);
        if (e.command === 'RCPT TO' && NO_SUCH_MAILBOX.has(e.responseCode)) return invalidTarget(reply);
        return rejected(reply);
      }
    },
    close: () => transport.close(),
  };
}
