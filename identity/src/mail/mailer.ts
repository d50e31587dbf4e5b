import nodemailer from 'nodemailer';

/** One message to one person. Texts come from the message catalogue of the recipient's locale. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
  html?: string | undefined;
  /** Files sent along (a receipt's PDF). */
  attachments?: readonly MailAttachment[] | undefined;
}

export interface MailAttachment {
  filename: string;
  content: Buffer;
  contentType: string;
}

/** Sends mail; rejects when the message was not accepted for delivery. */
export interface Mailer {
  send(mail: Mail): Promise<void>;
}

export interface SmtpSettings {
  /** `smtp://user:pass@host:587` or `smtps://...:465`; STARTTLS is used whenever the server offers it. */
  url: string;
  /** The sender, e.g. `Clutch <no-reply@example.com>`. */
  from: string;
}

/**
 * Mail over SMTP with nodemailer, a connection per message (account mail is rare). Transport settings go
 * in the URL's query: given a URL, nodemailer reads nothing else (a second argument holds message
 * defaults, not transport options).
 */
export function smtpMailer(settings: SmtpSettings): Mailer & { close(): void } {
  const transport = nodemailer.createTransport(settings.url, { from: settings.from });
  return {
    async send(mail) {
      await transport.sendMail({
        from: settings.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        ...(mail.attachments ? { attachments: mail.attachments.map((a) => ({ ...a })) } : {}),
      });
    },
    close: () => transport.close(),
  };
}

/**
 * No SMTP configured (the `npm start` demo): messages are kept in memory and handed to `print`,
 * which the platform points at its log, so a developer can follow a verification or reset link.
 */
export function devOutboxMailer(print: (mail: Mail) => void, keep = 50): Mailer & { readonly sent: readonly Mail[] } {
  const sent: Mail[] = [];
  return {
    get sent() {
      return sent;
    },
    async send(mail) {
      sent.push(mail);
      if (sent.length > keep) sent.shift();
      print(mail);
    },
  };
}
