// "Book from the car" (issue 15, item 5): a trouble code report or an ML alert of the caller's own
// vehicle becomes a booking request in one step, carrying the codes, a freeze frame and the alert's
// explanation, and the shop gets a time-boxed share of the car (vehicles, telemetry, trouble codes,
// status) created in the booking's own transaction. M2's BookingsService.request does the booking;
// this file only assembles its `source` and the share. Docs: docs/api.md (Diagnostics: Booking from the car).
import { signalByKey } from '@clutch/contracts';
import type { Queryable } from '@clutch/db';
import type { Resource } from '@clutch/identity';
import { actorOf } from '../auth/scope.js';
import type { DiagnosticsService } from '../diagnostics/service.js';
import { apiError } from '../errors.js';
import { vehicleNotFound } from '../shared/vehicle-guard.js';
import { vehicleResource } from '../vehicles/access.js';
import type { BookingSource } from './repository.js';
import type { BookingCaller, BookingsService, BookingView } from './service.js';

/**
 * How long the shop keeps the car after the booked slot ends: three days, so a repair that waits for
 * parts over a weekend stays visible, while a forgotten share still ends by itself. The share moves
 * with a reschedule and ends at once when the booking is cancelled, expires or is a no-show
 * (migration 028); the owner can end it any time (DELETE /api/vehicles/:id/shares/:shareId).
 */
export const SHARE_MARGIN_HOURS = 72;

/** What the share gives the shop (migration 028's booking_share_permissions, the same list). */
export const BOOKING_SHARE_PERMISSIONS = ['vehicles:read', 'telemetry:read', 'dtc:read', 'status:read'] as const;

/**
 * The readings of a freeze frame (SAE J1979 Mode 02 stores these PIDs when a code sets: load,
 * coolant, fuel trims, manifold pressure, rpm, speed, intake air, throttle) plus the battery.
 * The agent does not upload the car's own freeze frame, so the platform's telemetry at the moment
 * the code was first reported stands in for it (`source: 'telemetry'`).
 */
const FREEZE_FRAME_SIGNALS = [
  'engine.load',
  'engine.coolant_temp',
  'fuel.trim.short_term_b1',
  'fuel.trim.long_term_b1',
  'intake.manifold_pressure',
  'engine.rpm',
  'vehicle.speed',
  'intake.air_temp',
  'throttle.position',
  'battery.voltage',
] as const;
/** How far back from the code's first report a reading still describes that moment. */
const FREEZE_FRAME_WINDOW_MINUTES = 10;

export interface FromAlertInput {
  vehicleId: string;
  /** Current trouble codes of the vehicle to book for (they must be in its latest report). */
  codes?: readonly string[] | undefined;
  /** An alert of the vehicle to book for. */
  alertId?: string | undefined;
  partnerId?: string | undefined;
  serviceId?: string | undefined;
  startsAt?: Date | undefined;
  holdId?: string | undefined;
  notes?: string | undefined;
}

export interface BookingShareView {
  id: string;
  granteeTenantId: string;
  permissions: string[];
  validFrom: string;
  validUntil: string;
}

export interface FromAlertAnswer {
  booking: BookingView;
  share: BookingShareView;
}

interface AlertRow {
  id: string;
  time: Date | string;
  kind: string;
  severity: string;
  title: string;
  explanation: string;
}

async function freezeFrame(q: Queryable, vehicleId: string, at: Date): Promise<Record<string, number>> {
  const ids = new Map(
    FREEZE_FRAME_SIGNALS.flatMap((key) => {
      const s = signalByKey(key);
      return s ? [[s.id, key] as const] : [];
    }),
  );
  const { rows } = await q.query<{ signal_id: number; value: number }>(
    `SELECT DISTINCT ON (signal_id) signal_id, value FROM samples
      WHERE vehicle_id = $1 AND signal_id = ANY ($2::smallint[])
        AND time <= $3 AND time > $3 - make_interval(mins => $4)
      ORDER BY signal_id, time DESC`,
    [vehicleId, [...ids.keys()], at, FREEZE_FRAME_WINDOW_MINUTES],
  );
  return Object.fromEntries(rows.map((r) => [ids.get(Number(r.signal_id))!, Number(r.value)]));
}

const invalidSource = (detail: string): Error => apiError('BOOKING_SOURCE_INVALID', detail);

export class BookFromAlertService {
  constructor(
    private readonly bookings: BookingsService,
    private readonly diagnostics: DiagnosticsService,
  ) {}

  /**
   * Reads what the booking starts from (one read transaction, under the caller's row-level
   * security), then asks M2's `request` for the booking with the share created in its transaction.
   */
  async book(caller: BookingCaller, input: FromAlertInput): Promise<FromAlertAnswer> {
    // A booking has a customer: an administrator's token is nobody's (platform staff are not car owners either).
    if (caller.principal.kind !== 'user' && caller.principal.kind !== 'partner')
      throw apiError('FORBIDDEN', 'Book from a car with the account of its owner or fleet');
    const source = await caller.scope.run((q) => this.source(caller, q, input));
    let share: BookingShareView | undefined;
    const booking = await this.bookings.request(caller, {
      partnerId: input.partnerId,
      serviceId: input.serviceId,
      vehicleId: input.vehicleId,
      startsAt: input.startsAt,
      holdId: input.holdId,
      notes: input.notes,
      source,
      within: async (tx, made) => {
        if (made.vehicleId !== input.vehicleId)
          throw invalidSource(`The hold is for vehicle ${made.vehicleId}, not ${input.vehicleId}`);
        share = await this.share(tx, made.id, actorOf(caller.principal));
      },
    });
    if (!share) throw new Error('the booking committed without its share');
    return { booking, share };
  }

  /** The caller's own vehicle, the rights it shares, and the codes or alert it books for. */
  private async source(caller: BookingCaller, q: Queryable, input: FromAlertInput): Promise<BookingSource> {
    const vehicle = await vehicleResource(q, input.vehicleId);
    const allowed = async (permission: string, on: Resource): Promise<boolean> =>
      (await caller.policy.decide(permission, on)).allow;
    if (!vehicle || !(await allowed('vehicles:read', vehicle))) throw vehicleNotFound(input.vehicleId);
    // Sharing the car is the owner's (or the fleet's) call, and only what the caller holds on it.
    await caller.policy.require('vehicle-shares:write', vehicle);
    // A car shared with the caller is not the caller's to share on (the database refuses it too).
    if (vehicle.tenantId !== caller.scope.tenantId && caller.scope.tenantId !== undefined)
      throw vehicleNotFound(input.vehicleId);
    for (const permission of BOOKING_SHARE_PERMISSIONS)
      if (!(await allowed(permission, vehicle)))
        throw apiError(
          'PERMISSION_ESCALATION',
          `You cannot share ${permission} of this vehicle with the shop: you do not hold it`,
          {
            missing: [{ permission, condition: null }],
          },
        );

    if (input.alertId !== undefined) {
      const { rows } = await q.query<AlertRow>(
        `SELECT id::text AS id, time, kind, severity, title, explanation FROM alerts
          WHERE id = $1::bigint AND vehicle_id = $2`,
        [input.alertId, input.vehicleId],
      );
      const alert = rows[0];
      if (!alert)
        throw apiError('ALERT_NOT_FOUND', `No alert ${input.alertId} of vehicle ${input.vehicleId}`, {
          alertId: input.alertId,
        });
      const at = new Date(alert.time);
      const values = await freezeFrame(q, input.vehicleId, at);
      return {
        kind: 'alert',
        alertId: alert.id,
        explanation: `${alert.title}: ${alert.explanation}`,
        ...(input.codes?.length ? { codes: [...input.codes] } : {}),
        freezeFrame: {
          source: 'telemetry',
          at: at.toISOString(),
          alert: { kind: alert.kind, severity: alert.severity },
          values,
        },
      };
    }

    const codes = [...new Set(input.codes ?? [])];
    if (codes.length === 0) throw invalidSource('Name the trouble codes (codes) or the alert (alertId) to book for');
    const current = await this.diagnostics.current(q, input.vehicleId);
    const byCode = new Map(current.map((c) => [c.code, c]));
    const missing = codes.filter((c) => !byCode.has(c));
    if (missing.length > 0)
      throw invalidSource(
        `Not among the vehicle's current trouble codes: ${missing.join(', ')} (current: ${current.map((c) => c.code).join(', ') || 'none'})`,
      );
    // The car's own freeze frame belongs to the first code that set; ours to the first one reported.
    const first = codes.map((c) => byCode.get(c)!).sort((a, b) => a.firstSeen.localeCompare(b.firstSeen))[0]!;
    const at = new Date(first.firstSeen);
    const values = await freezeFrame(q, input.vehicleId, at);
    return {
      kind: 'dtc',
      codes,
      explanation: codes
        .map(
          (c) => `${c}${byCode.get(c)!.description ? ` ${byCode.get(c)!.description}` : ''} (${byCode.get(c)!.kind})`,
        )
        .join('; '),
      freezeFrame: { source: 'telemetry', at: at.toISOString(), code: first.code, values },
    };
  }

  /** The booking's share (migration 028 checks the caller again and takes everything from the booking row). */
  private async share(tx: Queryable, bookingId: string, createdBy: string): Promise<BookingShareView> {
    let id: string;
    try {
      const made = await tx.query<{ id: string }>(
        'SELECT create_booking_share($1, make_interval(hours => $2), $3)::text AS id',
        [bookingId, SHARE_MARGIN_HOURS, createdBy],
      );
      id = made.rows[0]!.id;
    } catch (err) {
      // The function's own refusals (not the customer's booking or car, a dead booking): the checks
      // above make them unreachable for a well-behaved caller, so they stay generic.
      const code = (err as { code?: unknown }).code;
      if (code === '42501' || code === '22023')
        throw invalidSource(`The shop cannot be given this vehicle: ${(err as Error).message}`);
      throw err;
    }
    const { rows } = await tx.query<{
      id: string;
      grantee_tenant_id: string;
      permissions: string[];
      valid_from: Date | string;
      valid_until: Date | string;
    }>(
      `SELECT id::text AS id, grantee_tenant_id, permissions, valid_from, valid_until FROM vehicle_shares WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) throw new Error(`the share of booking ${bookingId} is not readable in the booking's transaction`);
    return {
      id: row.id,
      granteeTenantId: row.grantee_tenant_id,
      permissions: row.permissions,
      validFrom: new Date(row.valid_from).toISOString(),
      validUntil: new Date(row.valid_until).toISOString(),
    };
  }
}
