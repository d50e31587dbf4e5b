import { randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import { logWaiter, takeInjected, type Injected } from '../wait.js';

/**
 * A capturing SMTP server (smtp-server; no TLS, no authentication required, loopback) that parses
 * what it receives with mailparser and keeps it in a mailbox: the email adapter's tests read what a
 * recipient would see, and `npm start` uses it as the development mailbox. It can refuse recipients
 * (550 no such user) and fail the next messages with any SMTP reply code.
 */
export interface CapturedMail {
  id: string;
  /** SMTP envelope: MAIL FROM and the accepted RCPT TO addresses (lower case). */
  envelope: { from: string; to: string[] };
  /** Header From as written (`Clutch <no-reply@...>`). */
  from: string;
  /** Header To addresses, lower case. */
  to: string[];
  subject: string;
  text: string;
  html: string | null;
  messageId: string | null;
  /** Every header line as sent, by lower-case name (the last one wins for repeated headers). */
  headers: Record<string, string>;
  /** The whole message source (RFC 5322), for checks on the wire format. */
  raw: string;
  receivedAt: Date;
}

export interface SmtpEmulatorOptions {
  port?: number;
  host?: string;
  /** Largest message accepted (SIZE extension); bigger ones get 552. Default 10 MB. */
  maxMessageBytes?: number;
  /** Messages kept in the mailbox (oldest dropped first). Default 10,000. */
  keep?: number;
}

export type SmtpStage = 'rcpt' | 'data';

export interface SmtpEmulator {
  /** `smtp://127.0.0.1:<port>` */
  url: string;
  host: string;
  port: number;
  /** The mailbox, oldest first. */
  readonly messages: CapturedMail[];
  /** The same mailbox, under the name the other emulators use. */
  readonly received: CapturedMail[];
  /** SMTP connections accepted so far: a pooled sender keeps a few open for many messages. */
  readonly connections: number;
  waitFor(match: (mail: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  /** RCPT TO this address answers `code` (default 550 5.1.1 "no such user") until `acceptRecipient`. */
  rejectRecipient(address: string, code?: number, message?: string): void;
  acceptRecipient(address: string): void;
  /** The next `times` transactions fail with `code` at RCPT TO or after DATA (e.g. 451, 421, 554). */
  failNext(code: number, options?: { stage?: SmtpStage; times?: number; message?: string }): void;
  /** Empties the mailbox. */
  clear(): void;
  close(): Promise<void>;
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  const list = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return list.flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));
}

async function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startSmtpEmulator(options: SmtpEmulatorOptions = {}): Promise<SmtpEmulator> {
  const messages: CapturedMail[] = [];
  const keep = options.keep ?? 10_000;
  const maxBytes = options.maxMessageBytes ?? 10 * 1024 * 1024;
  const rejected = new Map<string, { code: number; message: string }>();
  const failures: Injected<{ code: number; stage: SmtpStage; message: string }>[] = [];
  const waiter = logWaiter(messages);
  const nextFailure = (stage: SmtpStage) => {
    const first = failures[0];
    return first && first.value.stage === stage ? takeInjected(failures) : undefined;
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    banner: 'Clutch SMTP emulator',
    size: maxBytes,
    onRcptTo(address, _session, callback) {
      const failure = nextFailure('rcpt');
      if (failure) return callback(smtpError(failure.code, failure.message));
      const refusal = rejected.get(address.address.toLowerCase());
      if (refusal) return callback(smtpError(refusal.code, refusal.message));
      callback();
    },
    onData(stream, session, callback) {
      readAll(stream)
        .then(async (raw) => {
          if (stream.sizeExceeded) throw smtpError(552, '5.3.4 Message size exceeds fixed limit');
          const failure = nextFailure('data');
          if (failure) throw smtpError(failure.code, failure.message);
          const parsed = await simpleParser(raw);
          const headers: Record<string, string> = {};
          for (const { key, line } of parsed.headerLines) {
            headers[key.toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
          }
          const mailFrom = session.envelope.mailFrom;
          messages.push({
            id: randomUUID(),
            envelope: {
              from: mailFrom ? mailFrom.address.toLowerCase() : '',
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            },
            from: parsed.from?.text ?? '',
            to: addresses(parsed.to),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : null,
            messageId: parsed.messageId ?? null,
            headers,
            raw: raw.toString('utf8'),
            receivedAt: new Date(),
          });
          if (messages.length > keep) {
            messages.splice(0, messages.length - keep);
            waiter.rewind();
          }
          waiter.notify();
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  server.on('error', () => {
    // A client that drops the connection mid-session is the client's problem, not the mailbox's.
  });
  // Nagle's algorithm off, as for a mail server answering at once: on a kept-open connection a
  // reply written right after another waited for the client's delayed ACK, tens of ms per mail.
  let connections = 0;
  server.server.on('connection', (socket: Socket) => {
    connections++;
    socket.setNoDelay(true);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://${host}:${port}`,
    host,
    port,
    messages,
    received: messages,
    get connections() {
      return connections;
    },
    waitFor: waiter.waitFor,
    rejectRecipient(address, code = 550, message = '5.1.1 No such user here') {
      rejected.set(address.toLowerCase(), { code, message });
    },
    acceptRecipient(address) {
      rejected.delete(address.toLowerCase());
    },
    failNext(code, opts = {}) {
      const stage = opts.stage ?? 'data';
      const message = opts.message ?? (code >= 500 ? '5.7.1 Message refused' : '4.3.0 Try again later');
      failures.push({ value: { code, stage, message }, times: opts.times ?? 1 });
    },
    clear() {
      messages.length = 0;
      waiter.rewind();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
