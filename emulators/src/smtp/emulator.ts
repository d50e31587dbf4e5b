import { randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import { logWaiter, takeInjected, type Injected } from '../wait.js';

/** A mail as the server stored it: the envelope and the source, not parsed. */
export interface StoredMail {
  id: string;
  /** SMTP envelope: MAIL FROM and the accepted RCPT TO addresses (lower case). */
  envelope: { from: string; to: string[] };
  /** The whole message source (RFC 5322), for checks on the wire format. */
  raw: string;
  receivedAt: Date;
}

/** A stored mail as mailparser reads it. */
export interface CapturedMail extends StoredMail {
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
}

export type SmtpParse = 'on-receipt' | 'on-read';

export interface SmtpEmulatorOptions {
  port?: number;
  host?: string;
  /** Largest message accepted (SIZE extension); bigger ones get 552. Default 10 MB. */
  maxMessageBytes?: number;
  /** Messages kept in the mailbox (oldest dropped first). Default 10,000. */
  keep?: number;
  /** When mailparser reads a mail: before the 250 (default) or on its first `read()`/`waitFor`. */
  parse?: SmtpParse;
}

export type SmtpStage = 'rcpt' | 'data';

export interface SmtpEmulator {
  /** `smtp://127.0.0.1:<port>` */
  url: string;
  host: string;
  port: number;
  /**
   * The mailbox as parsed so far, oldest first: every accepted mail with `parse: 'on-receipt'`;
   * with 'on-read', the mails `read()` or `waitFor` have parsed (read() first to see them all).
   */
  readonly messages: CapturedMail[];
  /** Every accepted mail as stored (parsed or not), oldest first: its count, envelopes and sources. */
  readonly received: StoredMail[];
  /** Every mail in the mailbox parsed (each once, the first time it is read), oldest first: `messages` then. */
  read(): Promise<CapturedMail[]>;
  /** SMTP connections accepted so far: a pooled sender keeps a few open for many messages. */
  readonly connections: number;
  /** The first mail (already there or arriving within `timeoutMs`) that matches, parsed. */
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

/** A stored mail read by mailparser; one it cannot read keeps its source with empty fields. */
async function parseMail(mail: StoredMail, raw: Buffer): Promise<CapturedMail> {
  try {
    const parsed = await simpleParser(raw);
    const headers: Record<string, string> = {};
    for (const { key, line } of parsed.headerLines)
      headers[key.toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
    return {
      ...mail,
      from: parsed.from?.text ?? '',
      to: addresses(parsed.to),
      subject: parsed.subject ?? '',
      text: parsed.text ?? '',
      html: typeof parsed.html === 'string' ? parsed.html : null,
      messageId: parsed.messageId ?? null,
      headers,
    };
  } catch {
    return { ...mail, from: '', to: [], subject: '', text: '', html: null, messageId: null, headers: {} };
  }
}

/**
 * A capturing SMTP server (smtp-server; no TLS, no authentication required, loopback) that keeps
 * what it receives in a mailbox and reads it with mailparser (the independent check of our own MIME
 * builder): the email adapter's tests read what a recipient would see, and `npm start` uses it as
 * the development mailbox. It can refuse recipients (550 no such user) and fail the next messages
 * with any SMTP reply code.
 *
 * When mailparser reads a mail (`parse`): by default on receipt, before the 250 (so `messages` holds
 * every accepted mail once its sender's send resolved: the dev mailbox lists every mail anyway); with
 * `parse: 'on-read'`, as a mail server does, it stores the mail as received and parses it the first
 * time `read()` or `waitFor` looks at it (the notification bench's mail provider: a relay that never
 * shows a mail spends nothing on MIME).
 */
export async function startSmtpEmulator(options: SmtpEmulatorOptions = {}): Promise<SmtpEmulator> {
  const received: StoredMail[] = [];
  const messages: CapturedMail[] = [];
  /** Received mails not parsed yet, oldest first, with their source as received. */
  const unparsed: { mail: StoredMail; raw: Buffer }[] = [];
  const keep = options.keep ?? 10_000;
  const maxBytes = options.maxMessageBytes ?? 10 * 1024 * 1024;
  const onRead = options.parse === 'on-read';
  const rejected = new Map<string, { code: number; message: string }>();
  const failures: Injected<{ code: number; stage: SmtpStage; message: string }>[] = [];
  const waiter = logWaiter(messages);
  /** `waitFor` calls in progress: while there are any, mails are parsed as they arrive. */
  let waiting = 0;
  const nextFailure = (stage: SmtpStage) => {
    const first = failures[0];
    return first && first.value.stage === stage ? takeInjected(failures) : undefined;
  };

  // One parse at a time, in order of receipt, so `messages` keeps the mailbox's order.
  let parsing: Promise<void> = Promise.resolve();
  const parseAll = (): Promise<void> =>
    (parsing = parsing.then(async () => {
      while (unparsed.length > 0) {
        const next = unparsed[0]!;
        const parsed = await parseMail(next.mail, next.raw);
        // clear() or a trim may have dropped it meanwhile.
        if (unparsed[0] !== next) continue;
        unparsed.shift();
        messages.push(parsed);
        waiter.notify();
      }
    }));

  /** Drops the oldest mails beyond `keep` from the store, the parsed mailbox and the queue. */
  const trim = (): void => {
    if (received.length <= keep) return;
    const dropped = new Set(received.splice(0, received.length - keep).map((m) => m.id));
    while (unparsed.length > 0 && dropped.has(unparsed[0]!.mail.id)) unparsed.shift();
    let cut = 0;
    while (cut < messages.length && dropped.has(messages[cut]!.id)) cut++;
    if (cut > 0) {
      messages.splice(0, cut);
      waiter.rewind();
    }
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
          const mailFrom = session.envelope.mailFrom;
          const mail: StoredMail = {
            id: randomUUID(),
            envelope: {
              from: mailFrom ? mailFrom.address.toLowerCase() : '',
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            },
            raw: raw.toString('utf8'),
            receivedAt: new Date(),
          };
          received.push(mail);
          unparsed.push({ mail, raw });
          trim();
          // On read: the 250 goes out at once; a `waitFor` in progress gets the mail parsed behind it.
          if (!onRead) await parseAll();
          else if (waiting > 0) void parseAll();
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
    received,
    async read() {
      await parseAll();
      return messages;
    },
    get connections() {
      return connections;
    },
    async waitFor(match, timeoutMs) {
      waiting++;
      try {
        const found = waiter.waitFor(match, timeoutMs);
        void parseAll();
        return await found;
      } finally {
        waiting--;
      }
    },
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
      received.length = 0;
      unparsed.length = 0;
      messages.length = 0;
      waiter.rewind();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
