import { actorOf } from '../auth/scope.js';
import type { RepairWorkActor } from '../check-ins/service.js';
import { apiError } from '../errors.js';
import type { PageRequest } from '../http/pagination.js';
import { mayOnOrder, mayOnShopRecord, readOrder } from '../repair-work/order-access.js';
import { isCheckViolation, isUniqueViolation } from '../repair-work/sql-errors.js';
import { toIso } from '../shared/time.js';
import { ReviewsRepository, type ReviewRow } from './repository.js';

export const REVIEW_PAGE = { defaultLimit: 20, maxLimit: 100 } as const;

export interface ReviewView {
  id: string;
  partnerId: string;
  rating: number;
  text: string;
  authorName: string;
  createdAt: string;
  answer: string | null;
  answeredAt: string | null;
}

const view = (r: ReviewRow): ReviewView => ({
  id: r.id,
  partnerId: r.partner_id,
  rating: Number(r.rating),
  text: r.text,
  authorName: r.author_name,
  createdAt: toIso(r.created_at) ?? '',
  answer: r.answer,
  answeredAt: toIso(r.answered_at),
});

const bookingNotFound = (id: string): Error =>
  apiError('BOOKING_NOT_FOUND', `No booking ${id} of yours`, { bookingId: id });

/**
 * Verified reviews (issue 15, item 1): only the customer of a booking whose repair was delivered
 * (or closed) reviews it, once; the shop answers once; everyone signed in reads them. The shop's
 * rating average and count change in the same transaction, by a trigger that adds to what the
 * previous review left under the shop row's lock (migration 027), so concurrent reviews all count.
 */
export class ReviewsService {
  async create(
    actor: RepairWorkActor,
    input: { bookingId: string; rating: number; text?: string | undefined },
  ): Promise<ReviewView> {
    return actor.scope
      .run(async (q) => {
        const repo = new ReviewsRepository(q);
        const orderId = await repo.orderOfBooking(input.bookingId);
        const order = orderId ? await readOrder(q, orderId) : undefined;
        if (!order || order.booking_id === null) throw bookingNotFound(input.bookingId);
        // A review is the customer's own word: platform staff, who may act for either party elsewhere,
        // do not write one for them.
        const ofCustomer = actor.principal.kind !== 'admin' && actor.principal.tenantId === order.customer_tenant_id;
        if (!ofCustomer || !(await mayOnOrder(actor.policy, 'reviews:write', order, 'customer', 'review'))) {
          if (await mayOnOrder(actor.policy, 'repair-orders:read', order, 'either'))
            throw apiError('FORBIDDEN', "Only the booking's customer reviews it", {
              requiredPermission: 'reviews:write',
            });
          throw bookingNotFound(input.bookingId);
        }
        if (order.status !== 'delivered' && order.status !== 'closed')
          throw apiError('REVIEW_NOT_ALLOWED', `A repair is reviewed once it is delivered; it is ${order.status}`, {
            status: order.status,
          });
        const author = (await repo.authorName(order.customer_user_id)) ?? 'Customer';
        return view(
          await repo.insert(
            { ...order, booking_id: order.booking_id },
            { rating: input.rating, text: input.text ?? '', author },
          ),
        );
      })
      .catch((err: unknown) => {
        if (isUniqueViolation(err, 'reviews_booking_id_key'))
          throw apiError('REVIEW_EXISTS', `Booking ${input.bookingId} is already reviewed`, {
            bookingId: input.bookingId,
          });
        if (isCheckViolation(err, 'review_after_delivery'))
          throw apiError('REVIEW_NOT_ALLOWED', 'A repair is reviewed by its customer once it is delivered');
        throw err;
      });
  }

  async answer(actor: RepairWorkActor, id: string, input: { text: string }): Promise<ReviewView> {
    const by = actorOf(actor.principal);
    // Platform staff answer for a shop in an audited scope (their own tenant's security reaches no
    // shop's rows); everyone else in their own.
    return actor.scope
      .administration({ action: 'review.answer', target: id })
      .run(async (q) => {
        const repo = new ReviewsRepository(q);
        const review = await repo.get(id);
        if (!review) throw apiError('REVIEW_NOT_FOUND', `No review ${id}`);
        const record = { type: 'review', id, tenantId: review.tenant_id, shopId: review.partner_id };
        if (!(await mayOnShopRecord(actor.policy, 'reviews:answer', record)))
          throw apiError('FORBIDDEN', "Only the reviewed shop's staff answer a review", {
            requiredPermission: 'reviews:answer',
          });
        if (review.answer !== null) throw apiError('REVIEW_ANSWERED', `Review ${id} is already answered`);
        const answered = await repo.answer(id, input.text, by);
        if (!answered) throw apiError('REVIEW_ANSWERED', `Review ${id} is already answered`);
        return view(answered);
      })
      .catch((err: unknown) => {
        if (isCheckViolation(err, 'review_answer_once'))
          throw apiError('REVIEW_ANSWERED', `Review ${id} is already answered`);
        throw err;
      });
  }

  async list(
    actor: RepairWorkActor,
    partnerId: string,
    page: PageRequest,
  ): Promise<{ reviews: ReviewView[]; ratingAvg: number | null; ratingCount: number; next: string | null }> {
    return actor.scope.run(async (q) => {
      const repo = new ReviewsRepository(q);
      // A shop the caller can see: listed, or its own.
      const partner = await repo.partner(partnerId);
      if (!partner) throw apiError('PARTNER_NOT_FOUND', `No shop ${partnerId}`, { partnerId });
      const { items, next } = await repo.list(partnerId, page);
      return {
        reviews: items.map(view),
        ratingAvg: partner.rating_avg === null ? null : Number(partner.rating_avg),
        ratingCount: Number(partner.rating_count),
        next,
      };
    });
  }
}
