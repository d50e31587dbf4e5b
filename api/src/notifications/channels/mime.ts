import { randomUUID } from 'node:crypto';
import mimeFuncs from 'nodemailer/lib/mime-funcs/index.js';
import MimeNode from 'nodemailer/lib/mime-node/index.js';
import qp from 'nodemailer/lib/qp/index.js';

/**
 * A notification mail as one RFC 5322 message, composed in one synchronous pass: the same headers,
 * structure and encodings nodemailer's composer writes (multipart/alternative of a text and an HTML
 * part; 7bit, quoted-printable or base64 as it chooses them; RFC 2047 words in headers), without its
 * tree of streams, which cost more CPU per mail than the SMTP conversation itself.
 */
export interface MailParts {
  /** The sender's header line, as senderOf made it. */
  from: SenderLine;
  /** A plain ASCII address (see isPlainAddress). */
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<id@host>`. */
  messageId: string;
  /** Extra header fields, in order (ASCII names; values encoded as nodemailer does). */
  headers: readonly (readonly [string, string])[];
  date?: Date;
}

/** The sender's `From:` field and envelope address, worked out once per sender by nodemailer itself. */
export interface SenderLine {
  header: string;
  address: string;
}

/**
 * `From:` as nodemailer writes it (a display name quoted or RFC 2047 encoded, the domain in
 * punycode) and the envelope's MAIL FROM address; null when nodemailer finds no address in it.
 */
export function senderOf(from: string): SenderLine | null {
  const node = new MimeNode('text/plain', { baseBoundary: 'sender' });
  node.setHeader('From', from);
  const address = node.getEnvelope().from;
  if (!address) return null;
  const header = node
    .buildHeaders()
    .split(/\r\n(?=\S)/)
    .find((line) => line.startsWith('From:'));
  return header ? { header, address } : null;
}

const PLAIN_ADDRESS = /^[\x21-\x7e]+$/;

/** An address this composer writes as is: printable ASCII (nodemailer then only lowercases the domain). */
export function isPlainAddress(address: string): boolean {
  return PLAIN_ADDRESS.test(address) && address.includes('@');
}

/** The address as nodemailer normalises it: the domain lowercased (punycode of ASCII is itself). */
export function normalAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}

// eslint-disable-next-line no-control-regex
const NON_LATIN = /[\x00-\x08\x0B\x0C\x0E-\x1F\u0080-\uFFFF]/g;
const LATIN = /[a-z]/gi;
// eslint-disable-next-line no-control-regex
const HAS_NON_LATIN = /[\x00-\x08\x0B\x0C\x0E-\x1F\u0080-\uFFFF]/;
const HAS_LATIN = /[a-z]/i;

/** nodemailer's choice of RFC 2047 / transfer encoding: Q (quoted-printable) for mostly Latin text, else B (base64). */
function textEncoding(value: string): 'Q' | 'B' {
  // Most text is plain ASCII: then Latin letters alone decide, without counting.
  if (!HAS_NON_LATIN.test(value)) return HAS_LATIN.test(value) ? 'Q' : 'B';
  const nonLatin = value.match(NON_LATIN)?.length ?? 0;
  const latin = value.match(LATIN)?.length ?? 0;
  return nonLatin < latin ? 'Q' : 'B';
}

/** An unstructured header value: as is when ASCII, else whole as RFC 2047 words (nodemailer's encodeAll). */
function headerText(value: string): string {
  const flat = value.replace(/\r?\n|\r/g, ' ');
  return (
    mimeFuncs.encodeWords as (value: string, encoding: 'Q' | 'B', maxLength: number, encodeAll: boolean) => string
  )(flat, textEncoding(flat), 52, true);
}

const field = (name: string, value: string): string => mimeFuncs.foldLines(`${name}: ${value}`, 76);

/** A text part's transfer encoding and body, as nodemailer picks and writes them. */
function encodedBody(content: string): { encoding: string; body: string } {
  if (mimeFuncs.isPlainText(content) && !mimeFuncs.hasLongerLines(content, 76))
    return { encoding: '7bit', body: content };
  if (textEncoding(content) === 'Q') return { encoding: 'quoted-printable', body: qp.wrap(qp.encode(content), 76) };
  return {
    encoding: 'base64',
    body: (
      Buffer.from(content, 'utf8')
        .toString('base64')
        .match(/.{1,76}/g) ?? []
    ).join('\r\n'),
  };
}

function part(contentType: string, content: string): string {
  const { encoding, body } = encodedBody(content);
  return `Content-Type: ${contentType}; charset=utf-8\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n${body}`;
}

/** The whole message, ready for SMTP DATA (line ends are made CRLF and dots stuffed on the way). */
export function composeMail(mail: MailParts): Buffer {
  const boundary = `--_NmP-${randomUUID().replace(/-/g, '').slice(0, 16)}-Part_1`;
  const date = (mail.date ?? new Date()).toUTCString().replace(/GMT/, '+0000');
  const head = [
    ...mail.headers.map(([name, value]) => field(name, headerText(value))),
    mail.from.header,
    field('To', mail.to),
    field('Subject', headerText(mail.subject)),
    field('Message-ID', mail.messageId),
    field('Date', date),
    'MIME-Version: 1.0',
    field('Content-Type', `multipart/alternative; boundary="${boundary}"`),
  ].join('\r\n');
  return Buffer.from(
    `${head}\r\n\r\n` +
      `--${boundary}\r\n${part('text/plain', mail.text)}\r\n` +
      `--${boundary}\r\n${part('text/html', mail.html)}\r\n` +
      `--${boundary}--\r\n`,
    'utf8',
  );
}
