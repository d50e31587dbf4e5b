import type { Queryable } from '@clutch/db';
import { apiError } from '../errors.js';
import { customerStanding } from './repository.js';

export { customerStanding } from './repository.js';

/**
 * Refuses new business of a customer suspended by a defaulted installment plan (CUSTOMER_SUSPENDED,
 * 403), in the caller's transaction. Bookings call it before a booking is made.
 */
export async function requireGoodStanding(q: Queryable, tenantId: string, userId: string | null): Promise<void> {
  const standing = await customerStanding(q, tenantId, userId);
  if (standing.status === 'suspended')
    throw apiError(
      'CUSTOMER_SUSPENDED',
      'New bookings are refused while an installment plan is in default: pay what is overdue, then contact support',
      { reason: standing.reason, planId: standing.planId },
    );
}
