import twilio from 'twilio';
import { assertSendable, SmsDeliveryError, type SmsSender } from './sms-sender.js';

export interface TwilioSmsOptions {
  accountSid: string;
  authToken: string;
  /** The sender: a Twilio number (E.164) or alphanumeric sender id; or use messagingServiceSid. */
  from?: string;
  messagingServiceSid?: string;
  /**
   * Where the REST API is (default `https://api.twilio.com`). The SDK has no base-URL option: a
   * custom `httpClient` rewrites the origin of every request and hands it to the SDK's own
   * RequestClient (the approach Twilio's maintainers suggest), so the wire format is the SDK's.
   */
  baseUrl?: string;
  /** Per request, default 10 s: a code that arrives later is of little use. */
  timeoutMs?: number;
}

/** Twilio's "permanent" failures: bad number, unreachable or blocked recipient, unsubscribed. */
const PERMANENT_CODES = new Set([21211, 21408, 21610, 21612, 21614, 30003, 30005, 30006]);

function redirectingClient(baseUrl: string, timeoutMs: number): twilio.RequestClient {
  const target = new URL(baseUrl);
  const inner = new twilio.RequestClient({ timeout: timeoutMs });
  // Subclassing keeps every RequestClient member the SDK may touch; only request() is redirected.
  return Object.assign(Object.create(inner) as twilio.RequestClient, {
    request(opts: Parameters<twilio.RequestClient['request']>[0]) {
      const uri = new URL(opts.uri);
      if (uri.hostname.endsWith('.twilio.com')) {
        uri.protocol = target.protocol;
        uri.host = target.host;
        uri.pathname = target.pathname.replace(/\/$/, '') + uri.pathname;
      }
      return inner.request({ ...opts, uri: uri.href });
    },
  });
}

/** An SmsSender over Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`). */
export function createTwilioSmsSender(options: TwilioSmsOptions): SmsSender {
  if ((options.from === undefined) === (options.messagingServiceSid === undefined))
    throw new Error('Twilio SMS: set exactly one of from and messagingServiceSid');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const client = twilio(options.accountSid, options.authToken, {
    autoRetry: false,
    timeout: timeoutMs,
    ...(options.baseUrl !== undefined ? { httpClient: redirectingClient(options.baseUrl, timeoutMs) } : {}),
  });
  return {
    async send(message) {
      assertSendable(message);
      try {
        const sent = await client.messages.create({
          to: message.to,
          body: message.body,
          ...(options.from !== undefined
            ? { from: options.from }
            : { messagingServiceSid: options.messagingServiceSid! }),
        });
        if (sent.status === 'failed' || sent.status === 'undelivered')
          throw new SmsDeliveryError(`Twilio: message ${sent.sid} ${sent.status}`, false, sent.errorCode ?? undefined);
        return { id: sent.sid };
      } catch (err) {
        if (err instanceof SmsDeliveryError) throw err;
        const e = err as { status?: number; code?: number; message?: string };
        if (typeof e.status === 'number') {
          const permanent = (e.code !== undefined && PERMANENT_CODES.has(e.code)) || e.status === 400;
          throw new SmsDeliveryError(
            `Twilio ${e.status} ${e.code ?? ''}: ${e.message ?? ''}`.trim(),
            permanent,
            e.code,
          );
        }
        throw new SmsDeliveryError(`Twilio unreachable: ${e.message ?? String(err)}`, false);
      }
    },
  };
}
