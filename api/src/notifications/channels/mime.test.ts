import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { describe, expect, it } from 'vitest';
import { composeMail, isPlainAddress, normalAddress, senderOf } from './mime.js';

/** nodemailer's own composition of the same mail, the reference this composer must match. */
function nodemailerOf(mail: {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  date: Date;
  headers: Record<string, string>;
}): Promise<string> {
  return new Promise((resolve, reject) =>
    new MailComposer(mail).compile().build((err, message) => (err ? reject(err) : resolve(message.toString()))),
  );
}

/** The boundary is random on both sides; line ends become CRLF on the SMTP wire either way. */
const comparable = (message: string): string =>
  message
    .replace(/--_NmP-[0-9a-f]+-Part_1/g, '<boundary>')
    .replace(/\r?\n/g, '\n')
    .trimEnd();

describe('notification mail composer', () => {
  const cases = [
    {
      from: 'Clutch <notify@clutch.example>',
      subject: 'Coolant temperature rising',
      text: 'Above its usual range\n\n-- \nManage: https://clutch.example/n',
    },
    {
      from: 'Clutch Werkstatt <notify@clutch.example>',
      subject: 'Kühlmittel — zu heiß',
      text: `Über dem üblichen Bereich ${'lang '.repeat(30)}`,
    },
    {
      from: '"Clutch, Inc." <notify@clutch.example>',
      subject: 'تنبيه: حرارة المحرك',
      text: 'درجة حرارة سائل التبريد مرتفعة',
    },
    {
      from: 'Clütch <notify@Clutch.Example>',
      subject: `A subject long enough to be folded over more than one header line ${'x'.repeat(60)}`,
      text: 'a = b\nend ',
    },
  ];
  it.each(cases)('writes what nodemailer writes: $subject', async ({ from, subject, text }) => {
    const date = new Date('2026-12-05T01:00:00Z');
    const mail = {
      to: 'owner@example.com',
      subject,
      text,
      html: `<p>${text}</p>`,
      messageId: '<n1.notification@clutch.example>',
      date,
      headers: { 'List-Unsubscribe': '<https://clutch.example/notifications.html>', 'X-Clutch-Notification': 'n1' },
    };
    const sender = senderOf(from)!;
    const ours = composeMail({ ...mail, from: sender, headers: Object.entries(mail.headers) }).toString();
    expect(comparable(ours)).toBe(comparable(await nodemailerOf({ ...mail, from })));
    expect(sender.address).toBe(from.match(/<(.*)>/)![1]!.replace(/@(.*)$/, (_, d: string) => `@${d.toLowerCase()}`));
  });

  it('takes only printable ASCII addresses, with the domain lowercased as nodemailer does', () => {
    expect(isPlainAddress('Owner@Example.com')).toBe(true);
    expect(normalAddress('Owner@Example.com')).toBe('Owner@example.com');
    expect(isPlainAddress('jõgeva@jõgeva.ee')).toBe(false);
    expect(isPlainAddress('x @example.com')).toBe(false);
    expect(senderOf('no address here')).toBeNull();
  });
});
