import { createTranslator, type Translator } from '@clutch/i18n';
import nodemailer, { type Transporter } from 'nodemailer';
import type { ChannelSender, RenderedNotification, SendResult } from './channel.js';
import { ChannelUnavailableError, invalidTarget, rejected, wrongTarget } from './payload.js';

export interface EmailOptions {
  /** A nodemailer transport, or the SMTP URL to build a pooled one from (`smtp://user:pass@host:587`). */
  transport?: Transporter;
  smtpUrl?: string;
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
  const transport: Transporter =
    options.transport ??
    nodemailer.createTransport({ url: options.smtpUrl, pool: true, maxConnections: 10, maxMessages: 500 });
  const translators = new Map<string, Translator>();
  const translator = (locale: string): Translator => {
    let t = translators.get(locale);
    if (!t) translators.set(locale, (t = createTranslator(locale)));
    return t;
  };

  return {
    channel: 'email',
    async send(target, message): Promise<SendResult> {
      if (target.kind !== 'email') return wrongTarget('email', target);
      if (target.address.length > 254 || !ADDRESS.test(target.address))
        return invalidTarget('not a deliverable email address');
      const mail = renderEmail(message, translator(message.locale), options.baseUrl, settingsPath);
      const id = message.notificationId.replace(/[^A-Za-z0-9._-]/g, '');
      try {
        const info = (await transport.sendMail({
          from: options.from,
          to: target.address,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          // The same notification retried keeps its Message-ID, so mail clients show it once.
          messageId: `<${id}.notification@${base.hostname}>`,
          headers: {
            'List-Unsubscribe': `<${mail.settingsUrl}>`,
            'Auto-Submitted': 'auto-generated',
            'X-Clutch-Notification': id,
          },
        })) as { messageId?: string; rejected?: unknown[] };
        if (Array.isArray(info.rejected) && info.rejected.length > 0)
          return invalidTarget('the SMTP server refused the recipient');
        return { ok: true, providerMessageId: info.messageId ?? null };
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
