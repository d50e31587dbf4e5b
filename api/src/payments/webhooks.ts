import type { Queryable } from '@clutch/db';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Scope, SystemUse } from '../auth/scope.js';
import { apiError } from '../errors.js';
import type { ApiRouter } from '../http/route.js';
import { ProviderError, type ProviderEvent } from './providers/provider.js';
import { PaymentsRepository } from './repository.js';
import { PaymentsService, type PaymentsServiceOptions } from './service.js';

/**
 * Provider webhooks, exactly once (docs/payments-flows.md, "Webhooks"):
 *
 * 1. `POST /api/payments/webhooks/:provider` verifies the signature over the raw body
 *    (`parseWebhook`), INSERTs the event into `payment_webhook_events` (primary key provider +
 *    event id, ON CONFLICT DO NOTHING) and, in the same transaction, enqueues a job. A duplicate
 *    delivery inserts nothing and enqueues nothing: it is acknowledged 200 and not processed again.
 * 2. The job (`processWebhookEvent`) does not trust the event's amounts: it retrieves the payment
 *    from the provider and applies the provider's state through the state machine (apply.ts), so
 *    events arriving in any order leave the payment where the provider has it.
 */
export const PAYMENT_WEBHOOK_QUEUE = 'payments.webhook';
export const PAYMENT_WEBHOOK_SETTINGS = { concurrency: 2, retryLimit: 8, retryDelay: 5, expireIn: 300 } as const;

/** The largest webhook body accepted (Stripe's events are a few KiB). */
const MAX_WEBHOOK_BYTES = 512 * 1024;

/** A webhook about a payment we do not (yet) know is retried; after this long it is set aside. */
const UNKNOWN_PAYMENT_GIVE_UP_MS = 3600_000;

export interface WebhookJobData {
  provider: string;
  eventId: string;
}

export interface WebhookDeps extends PaymentsServiceOptions {
  /** An audited system scope for one use (webhooks have no caller). */
  systemScope: (use: Omit<SystemUse, 'actor'> & { actor?: string }) => Scope;
}

const WEBHOOK_PROVIDERS = ['stripe', 'paypal'] as const;

export interface ReceivedWebhook {
  received: true;
  eventId: string;
  duplicate: boolean;
}

/** Stores a verified event once and queues its processing (step 1 above). */
export async function receiveWebhook(
  deps: WebhookDeps,
  providerName: string,
  rawBody: Buffer,
  headers: Record<string, string | string[] | undefined>,
): Promise<ReceivedWebhook> {
  if (!(WEBHOOK_PROVIDERS as readonly string[]).includes(providerName))
    throw apiError('ROUTE_NOT_FOUND', `No webhooks for provider ${providerName}`);
  const adapter = deps.providers?.providers.get(providerName as 'stripe' | 'paypal');
  if (!adapter) throw apiError('PROVIDER_UNAVAILABLE', `The payment provider ${providerName} is not configured here`);
  let event: ProviderEvent;
  try {
    event = await adapter.parseWebhook(rawBody, headers);
  } catch (err) {
    if (
      err instanceof ProviderError &&
      (err.code === 'WEBHOOK_SIGNATURE_INVALID' || err.code === 'WEBHOOK_UNSUPPORTED')
    )
      throw apiError('BAD_REQUEST', `The webhook was refused: ${err.message}`);
    throw err;
  }
  const scope = deps.systemScope({
    actor: `webhook:${providerName}`,
    action: 'payment.webhook-received',
    target: event.id,
    detail: { type: event.type, providerRef: event.providerRef ?? null },
  });
  const inserted = await scope.run(async (q) => {
    const { rows } = await q.query<{ event_id: string }>(
      `INSERT INTO payment_webhook_events (provider, event_id, type, provider_ref, object_ref, amount_minor, currency, occurred_at, raw)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) ON CONFLICT (provider, event_id) DO NOTHING RETURNING event_id`,
      [
        providerName,
        event.id,
        event.type,
        event.providerRef ?? null,
        event.objectRef ?? null,
        event.amountMinor ?? null,
        event.currency ? event.currency.toUpperCase() : null,
        event.occurredAt,
        JSON.stringify(event.raw ?? {}),
      ],
    );
    if (rows.length === 0) return false;
    if (deps.jobs)
      await deps.jobs.enqueue(PAYMENT_WEBHOOK_QUEUE, { provider: providerName, eventId: event.id }, { tx: q });
    return true;
  });
  // Without a job queue (an API on its own, tests): processed now, after the event committed; a
  // failure here leaves it unprocessed for the verify job's sweep (`processPendingWebhooks`).
  if (inserted && !deps.jobs)
    await processWebhookEvent(deps, providerName, event.id).catch((err: unknown) =>
      deps.logger?.warn({ err, eventId: event.id }, 'webhook processing failed; it is retried by the sweep'),
    );
  return { received: true, eventId: event.id, duplicate: !inserted };
}

interface StoredEvent {
  type: ProviderEvent['type'];
  providerRef: string | null;
  receivedAt: Date;
  processedAt: Date | null;
}

/** Step 2: retrieve the payment the event is about and apply the provider's state. Idempotent. */
export async function processWebhookEvent(deps: WebhookDeps, provider: string, eventId: string): Promise<string> {
  const scope = deps.systemScope({
    actor: `webhook:${provider}`,
    action: 'payment.webhook-processed',
    target: eventId,
  });
  const stored = await scope.run(async (q) => {
    const { rows } = await q.query<StoredEvent>(
      `SELECT type, provider_ref AS "providerRef", received_at AS "receivedAt", processed_at AS "processedAt"
         FROM payment_webhook_events WHERE provider = $1 AND event_id = $2`,
      [provider, eventId],
    );
    return rows[0];
  });
  if (!stored || stored.processedAt !== null) return 'already processed';
  const mark = (outcome: string) => (q: Queryable) =>
    q.query(
      `UPDATE payment_webhook_events SET processed_at = now(), outcome = $3 WHERE provider = $1 AND event_id = $2 AND processed_at IS NULL`,
      [provider, eventId, outcome],
    );
  const aboutPayment = stored.type.startsWith('payment.') || stored.type.startsWith('refund.');
  if (!aboutPayment || stored.providerRef === null) {
    await scope.run(mark('ignored'));
    return 'ignored';
  }
  const payment = await scope.run((q) => new PaymentsRepository(q).byProviderRef(provider, stored.providerRef!));
  if (!payment) {
    // Our answer from the provider may not be recorded yet (a crash before it was): try again later.
    const age = (deps.now?.() ?? new Date()).getTime() - new Date(stored.receivedAt).getTime();
    if (age < UNKNOWN_PAYMENT_GIVE_UP_MS)
      throw new Error(`webhook ${eventId}: no payment with ${provider} ref ${stored.providerRef} yet`);
    await scope.run(mark('unknown payment'));
    return 'unknown payment';
  }
  const service = new PaymentsService(deps);
  const view = await service.verifyRow(scope, payment, {
    actor: `webhook:${provider}:${eventId}`,
    kind: 'webhook',
    data: { eventType: stored.type },
  });
  await scope.run(mark(`applied: ${view.status}`));
  return view.status;
}

/** Events received but not processed (a crash, no queue): the sweep processes them. Returns how many. */
export async function processPendingWebhooks(deps: WebhookDeps, olderThanSeconds = 60): Promise<number> {
  const scope = deps.systemScope({ action: 'payment.webhook-sweep', actor: 'system:payments' });
  const pending = await scope.run(async (q) => {
    const { rows } = await q.query<{ provider: string; eventId: string }>(
      `SELECT provider, event_id AS "eventId" FROM payment_webhook_events
        WHERE processed_at IS NULL AND received_at < now() - make_interval(secs => $1)
        ORDER BY received_at LIMIT 500`,
      [olderThanSeconds],
    );
    return rows;
  });
  let done = 0;
  for (const e of pending) {
    try {
      await processWebhookEvent(deps, e.provider, e.eventId);
      done++;
    } catch (err) {
      deps.logger?.warn({ err, eventId: e.eventId }, 'webhook still cannot be processed');
    }
  }
  return done;
}

function readRawBody(ctx: Context): Promise<Buffer> {
  const declared = ctx.request.length;
  if (declared !== undefined && declared > MAX_WEBHOOK_BYTES)
    return Promise.reject(apiError('PAYLOAD_TOO_LARGE', 'The webhook body is too large'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    ctx.req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_WEBHOOK_BYTES) {
        ctx.req.pause();
        reject(apiError('PAYLOAD_TOO_LARGE', 'The webhook body is too large'));
      } else chunks.push(chunk);
    });
    ctx.req.on('end', () => resolve(Buffer.concat(chunks, size)));
    ctx.req.on('error', (err) => reject(apiError('BAD_REQUEST', `The webhook body could not be read: ${err.message}`)));
  });
}

export const receivedSchema = z.object({ received: z.literal(true), eventId: z.string(), duplicate: z.boolean() });

/**
 * The public webhook route. Its body is read here, raw, because the signature is over the exact
 * bytes (the API reads no body before a route asks for it, so no parser has consumed it).
 */
export function paymentWebhookRoute(router: ApiRouter, deps: WebhookDeps): void {
  router.publicRoute(
    {
      method: 'post',
      path: '/payments/webhooks/:provider',
      summary: 'A payment provider notifies a change (signature verified; stored once; processed by the job queue)',
      description:
        'Public: the provider signs the raw body (Stripe-Signature, PayPal transmission headers). A delivery of an ' +
        'event already received is acknowledged 200 with `duplicate: true` and not processed again.',
      tag: 'payments',
      params: z.object({ provider: z.enum(WEBHOOK_PROVIDERS) }),
      response: { status: 200, description: 'Received', schema: receivedSchema },
      errors: ['BAD_REQUEST', 'ROUTE_NOT_FOUND', 'PROVIDER_UNAVAILABLE', 'PAYLOAD_TOO_LARGE'],
    },
    async (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      const raw = await readRawBody(ctx);
      const provider = String((ctx.params as Record<string, string>).provider);
      ctx.status = 200;
      ctx.body = await receiveWebhook(deps, provider, raw, ctx.headers);
    },
  );
}
