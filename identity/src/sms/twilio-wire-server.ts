import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server that speaks the part of Twilio's REST API an SMS sender uses, as Twilio
 * documents it: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth with the
 * account SID and auth token, a form-encoded body (`To`, `From` or `MessagingServiceSid`, `Body`),
 * `201` with the Message resource in snake_case JSON, and errors as `{code, message, more_info,
 * status}` (20003 authentication, 21211 invalid To, 21602 missing Body, 21603 missing From).
 * For tests of the Twilio adapter through the official SDK, and for trying SMS sign-in locally.
 */
export interface TwilioWireServer {
  url: string;
  /** Messages accepted, oldest first. */
  readonly messages: {
    sid: string;
    to: string;
    from: string | null;
    messagingServiceSid: string | null;
    body: string;
  }[];
  /** Every request's method, path and auth header, for checks on the wire format. */
  readonly requests: {
    method: string;
    path: string;
    authorization: string | undefined;
    contentType: string | undefined;
  }[];
  /** The next message answers with this status and Twilio error code instead (once). */
  failNext(status: number, code: number, message: string): void;
  close(): Promise<void>;
}

const E164 = /^\+[1-9]\d{6,14}$/;

function twilioDate(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startTwilioWireServer(credentials: {
  accountSid: string;
  authToken: string;
}): Promise<TwilioWireServer> {
  const messages: TwilioWireServer['messages'] = [];
  const requests: TwilioWireServer['requests'] = [];
  let failure: { status: number; code: number; message: string } | undefined;
  const expectedAuth = `Basic ${Buffer.from(`${credentials.accountSid}:${credentials.authToken}`).toString('base64')}`;

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, code: number, message: string): void =>
    send(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0]!;
      requests.push({
        method: req.method ?? '',
        path,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
      });
      const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
      if (!match || req.method !== 'POST') return error(res, 404, 20404, 'The requested resource was not found');
      if (req.headers.authorization !== expectedAuth || match[1] !== credentials.accountSid)
        return error(res, 401, 20003, 'Authenticate');
      if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? ''))
        return error(res, 400, 20001, 'Unsupported content type');
      const form = new URLSearchParams(await readBody(req));
      const to = form.get('To') ?? '';
      const from = form.get('From');
      const messagingServiceSid = form.get('MessagingServiceSid');
      const body = form.get('Body') ?? '';
      if (failure) {
        const f = failure;
        failure = undefined;
        return error(res, f.status, f.code, f.message);
      }
      if (!E164.test(to)) return error(res, 400, 21211, `Invalid 'To' Phone Number: ${to}`);
      if (from === null && messagingServiceSid === null)
        return error(res, 400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required");
      if (body === '') return error(res, 400, 21602, 'Message body is required');
      const sid = `SM${randomBytes(16).toString('hex')}`;
      const now = twilioDate(new Date());
      messages.push({ sid, to, from, messagingServiceSid, body });
      send(res, 201, {
        account_sid: credentials.accountSid,
        api_version: '2010-04-01',
        body,
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from,
        messaging_service_sid: messagingServiceSid,
        num_media: '0',
        num_segments: String(Math.max(1, Math.ceil(body.length / 160))),
        price: null,
        price_unit: 'USD',
        sid,
        status: 'queued',
        subresource_uris: { media: `/2010-04-01/Accounts/${credentials.accountSid}/Messages/${sid}/Media.json` },
        to,
        uri: `/2010-04-01/Accounts/${credentials.accountSid}/Messages/${sid}.json`,
      });
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    requests,
    failNext(status, code, message) {
      failure = { status, code, message };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
