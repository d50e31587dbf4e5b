import { randomUUID } from 'node:crypto';
import type { Queryable } from '@clutch/db';
import { ChatRepository } from './repository.js';

/**
 * The booking's chat room, made by the platform (demo seed, jobs), in the caller's transaction: a
 * system one, since it names users of two tenants. Returns the room's id; an existing room is kept
 * (its participants too, `staff` joins it). The booking's customer and `staff` are the participants.
 */
export async function ensureBookingRoom(
  q: Queryable,
  input: { bookingId: string; staff?: { userId: string; tenantId: string } | undefined },
): Promise<string> {
  const repo = new ChatRepository(q);
  const { rows } = await q.query<{
    tenantId: string;
    partnerId: string;
    customerTenantId: string;
    customerUserId: string | null;
  }>(
    `SELECT tenant_id AS "tenantId", partner_id AS "partnerId", customer_tenant_id AS "customerTenantId",
            customer_user_id AS "customerUserId"
       FROM bookings WHERE id = $1`,
    [input.bookingId],
  );
  const booking = rows[0];
  if (!booking) throw new Error(`no booking ${input.bookingId}`);
  await repo.insertRoom({
    id: randomUUID(),
    tenantId: booking.tenantId,
    kind: 'booking',
    title: null,
    bookingId: input.bookingId,
    partnerId: booking.partnerId,
    customerTenantId: booking.customerTenantId,
    customerUserId: booking.customerUserId,
    createdBy: 'platform',
  });
  const room = (await repo.roomOfBooking(input.bookingId))!;
  const people = [
    ...(booking.customerUserId
      ? [{ userId: booking.customerUserId, tenantId: booking.customerTenantId, role: 'customer' as const }]
      : []),
    ...(input.staff ? [{ ...input.staff, role: 'shop' as const }] : []),
  ];
  for (const p of people) {
    const [user] = await repo.usersOfTenant(p.tenantId, [p.userId]);
    if (!user) throw new Error(`no active user ${p.userId} in ${p.tenantId}`);
    await repo.join({
      tenantId: room.tenantId,
      roomId: room.id,
      userId: p.userId,
      userTenantId: p.tenantId,
      role: p.role,
      displayName: user.displayName,
    });
  }
  return room.id;
}
