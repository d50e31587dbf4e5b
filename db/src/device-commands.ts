import type { CommandResult, LiveEvent } from '@clutch/contracts';
import type { Queryable } from './types.js';

/**
 * Owner of `device_commands`: every write to the table is here, so a command's life is one state
 * machine in one file, whoever drives it:
 *
 *   created pending ─ broker accepted ─> sent                          (API, markCommandSent)
 *   pending | sent ─ broker refused ─> failed                          (API, markCommandFailed)
 *   pending | sent ─ device answered before expires_at ─> succeeded | failed   (ingest, completeCommands)
 *   pending | sent ─ database clock reached expires_at ─> timed_out    (API on read and ingest's sweep, expireCommands)
 *
 * It lives in @clutch/db, not in either package, because both the API and ingest change commands
 * and neither may depend on the other (the API would pull in ingest's broker and queue clients);
 * the table's schema is here too (migrations/003_telematics.sql). Reads (the API's listings) stay
 * with their readers. No events are published here: the functions return what changed, and the
 * caller appends the `command` events to the outbox in the same transaction (@clutch/jobs'
 * appendLiveEvent), so an event exists exactly when its change committed.
 */

export type CommandStatus = 'pending' | 'sent' | 'succeeded' | 'failed' | 'timed_out';

/** The live event announcing a command's new status. */
export type CommandEvent = Extract<LiveEvent, { type: 'command' }>;

export interface DeviceCommandRow {
  id: string;
  tenant_id: string;
  device_id: string;
  vehicle_id: string;
  type: string;
  params: Record<string, unknown>;
  status: CommandStatus;
  result: unknown;
  error: string | null;
  created_at: Date | string;
  expires_at: Date | string;
  completed_at: Date | string | null;
}

export const DEVICE_COMMAND_COLUMNS =
  'id, tenant_id, device_id, vehicle_id, type, params, status, result, error, created_at, expires_at, completed_at';

/**
 * The one expiry rule, shared by expiry and completion so they can never disagree: a command still
 * waiting (pending or sent) is timed out once the database clock reaches its expires_at. The
 * database clock because expires_at was set from it (now() + timeout at creation), and because
 * the API and ingest may run on hosts whose clocks differ.
 */
const WAITING = `status IN ('pending', 'sent')`;
const PAST_DEADLINE = `expires_at <= now()`;

/** A new pending command; it expires `timeoutMs` after the database clock's now. */
export async function insertCommand(
  q: Queryable,
  c: {
    tenantId: string;
    deviceId: string;
    vehicleId: string;
    type: string;
    params: Record<string, unknown>;
    timeoutMs: number;
  },
): Promise<DeviceCommandRow> {
  const { rows } = await q.query<DeviceCommandRow>(
    `INSERT INTO device_commands (tenant_id, device_id, vehicle_id, type, params, expires_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, now() + $6 * interval '1 millisecond')
     RETURNING ${DEVICE_COMMAND_COLUMNS}`,
    [c.tenantId, c.deviceId, c.vehicleId, c.type, JSON.stringify(c.params), c.timeoutMs],
  );
  return rows[0]!;
}

/**
 * pending -> sent; an answer that already arrived (succeeded/failed) or an expiry is left alone.
 * True when the row changed (and its `sent` event is the caller's to announce).
 */
export async function markCommandSent(q: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE device_commands SET status = 'sent' WHERE id = $1 AND status = 'pending'`,
    [id],
  );
  return rowCount > 0;
}

/** The broker refused the command: it never reached the device. True when the row changed. */
export async function markCommandFailed(q: Queryable, id: string, error: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE device_commands SET status = 'failed', error = $2, completed_at = now() WHERE id = $1 AND ${WAITING}`,
    [id, error],
  );
  return rowCount > 0;
}

export interface CommandAnswer {
  tenantId: string;
  deviceId: string;
  result: CommandResult;
}

/**
 * Completes waiting commands with their device's answer and returns the ids completed. An answer
 * to another device's command, a repeated answer, and an answer at or after the deadline change
 * nothing: a timed-out command stays timed out (whether or not it was marked yet), so its
 * status, once announced, never changes again.
 */
export async function completeCommands(q: Queryable, answers: readonly CommandAnswer[]): Promise<string[]> {
  const completed: string[] = [];
  for (const a of answers) {
    if (!/^[0-9a-f-]{36}$/.test(a.result.id)) continue;
    const updated = await q.query<{ id: string }>(
      `UPDATE device_commands SET status = CASE WHEN $4 THEN 'succeeded' ELSE 'failed' END, result = $5::jsonb, error = $6, completed_at = now()
       WHERE id = $1::uuid AND tenant_id = $2 AND device_id = $3 AND ${WAITING} AND NOT (${PAST_DEADLINE})
       RETURNING id`,
      [
        a.result.id,
        a.tenantId,
        a.deviceId,
        a.result.ok,
        JSON.stringify(a.result.result ?? null),
        a.result.error ? `${a.result.error.code}: ${a.result.error.message}` : null,
      ],
    );
    for (const r of updated.rows) completed.push(r.id);
  }
  return completed;
}

/**
 * Marks waiting commands past their deadline as timed out (all of them: ingest's periodic sweep;
 * one command or one vehicle's: the API before it reads them) and returns one `command` live event
 * per command it changed, for the caller to append to the outbox in the same transaction. The
 * UPDATE decides who announces a timeout: whichever caller's statement changed the row gets the
 * event, the other finds nothing, so each timeout is announced once.
 * `completed_at` is the deadline, not when someone noticed: the command ended then, and a sweep
 * and a read give the same row.
 */
export async function expireCommands(
  q: Queryable,
  filter?: { id: string } | { vehicleId: string },
): Promise<CommandEvent[]> {
  const { rows } = await q.query<{ id: string; tenant_id: string; vehicle_id: string }>(
    `UPDATE device_commands SET status = 'timed_out', completed_at = expires_at
      WHERE ${WAITING} AND ${PAST_DEADLINE}
        AND ($1::uuid IS NULL OR id = $1::uuid) AND ($2::uuid IS NULL OR vehicle_id = $2::uuid)
      RETURNING id, tenant_id, vehicle_id`,
    [filter && 'id' in filter ? filter.id : null, filter && 'vehicleId' in filter ? filter.vehicleId : null],
  );
  return rows.map((r) => ({
    type: 'command',
    tenantId: r.tenant_id,
    vehicleId: r.vehicle_id,
    commandId: String(r.id),
    status: 'timed_out',
  }));
}
