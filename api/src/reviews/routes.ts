import { z } from 'zod';
import type { RepairWorkActor } from '../check-ins/service.js';
import { pageParams } from '../http/pagination.js';
import type { ApiRouter, RouteRequest } from '../http/route.js';
import { uuid } from '../shared/schemas.js';
import { REVIEWS_LISTING } from './repository.js';
import { REVIEW_PAGE, type ReviewsService } from './service.js';

/**
 * Reviews are listing data in the caller's own scope: a customer writes in theirs, and platform staff
 * answer for a shop through the audited scope the service names (`review.answer`), not the
 * marketplace's general one.
 */
const actorOf = (r: RouteRequest<unknown, unknown, unknown>): RepairWorkActor => ({
  principal: r.principal,
  policy: r.policy,
  scope: r.scope,
  administer: r.administer,
});

const reviewView = z.object({
  id: z.string(),
  partnerId: z.string(),
  rating: z.number().int().min(1).max(5),
  text: z.string(),
  authorName: z.string().describe("The reviewer's first name"),
  createdAt: z.string(),
  answer: z.string().nullable(),
  answeredAt: z.string().nullable(),
});

export function reviewRoutes(router: ApiRouter, reviews: ReviewsService): void {
  router.route({
    method: 'post',
    path: '/reviews',
    tag: 'reviews',
    summary:
      'Review a shop for a booking of yours whose repair was delivered: 1 to 5 stars and a text, once per booking',
    access: { permission: 'reviews:write', perResource: 'service' },
    body: z.strictObject({
      bookingId: uuid,
      rating: z.number().int().min(1).max(5),
      text: z.string().max(2000).optional(),
    }),
    response: { status: 201, description: 'The review', schema: reviewView },
    errors: ['BOOKING_NOT_FOUND', 'REVIEW_NOT_ALLOWED', 'REVIEW_EXISTS'],
    handle: (r) => reviews.create(actorOf(r), r.body),
  });

  router.route({
    method: 'post',
    path: '/reviews/:id/answer',
    tag: 'reviews',
    summary: "The reviewed shop's answer, once",
    access: { permission: 'reviews:answer', perResource: 'service' },
    params: z.object({ id: uuid }),
    body: z.strictObject({ text: z.string().trim().min(1).max(2000) }),
    response: { status: 200, description: 'The review with its answer', schema: reviewView },
    errors: ['REVIEW_NOT_FOUND', 'REVIEW_ANSWERED'],
    handle: (r) => reviews.answer(actorOf(r), r.params.id, r.body),
  });

  router.route({
    method: 'get',
    path: '/partners/:id/reviews',
    tag: 'reviews',
    summary: "A shop's reviews, newest first, with its rating average and count (any signed-in caller)",
    access: 'authenticated',
    params: z.object({ id: uuid }),
    query: z.object(pageParams(REVIEWS_LISTING, REVIEW_PAGE)),
    response: {
      status: 200,
      description: 'Reviews; `next` is the cursor of the next page (null on the last)',
      schema: z.object({
        reviews: z.array(reviewView),
        ratingAvg: z.number().nullable(),
        ratingCount: z.number().int(),
        next: z.string().nullable(),
      }),
    },
    errors: ['PARTNER_NOT_FOUND'],
    handle: (r) => reviews.list(actorOf(r), r.params.id, r.query),
  });
}
