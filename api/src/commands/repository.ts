import type { LiveEvent } from '@clutch/contracts';
import {
  DEVICE_COMMAND_COLUMNS,
  expireCommands,
  insertCommand,
  markCommandFailed,
  markCommandSent,
  type CommandStatus,
  type DeviceCommandRow,
  type Queryable,
} from '@clutch/db';

export type { CommandStatus };
export type CommandRow = DeviceCommandRow;

/**
 * The API's access to `device_commands`. Every write goes to the table's owning module,
 * @clutch/db's device-commands.ts, which also holds the expiry rule ingest applies; only the
 * reads the API lists are written here.
 */
export class CommandsRepository {
  constructor(private readonly db: Queryable) {}

  /** A pending command; the expiry is the database clock plus the timeout, the clock every expiry check uses. */
  insert(c: {
    tenantId: string;
    deviceId: string;
    vehicleId: string;
    type: string;
    params: Record<string, unknown>;
    timeoutMs: number;
  }): Promise<CommandRow> {
    return insertCommand(this.db, c);
  }

  /** pending -> sent; a result that already arrived (succeeded/failed) is left alone. */
  async markSent(id: string): Promise<CommandRow | undefined> {
    await markCommandSent(this.db, id);
    return this.find(id);
  }

  markFailed(id: string, error: string): Promise<void> {
    return markCommandFailed(this.db, id, error);
  }

  /**
   * Times out the command (or the vehicle's commands) whose deadline passed unanswered, by the one
   * rule ingest's sweep applies too, and returns the `command` events to announce after commit.
   */
  expire(filter: { id: string } | { vehicleId: string }): Promise<LiveEvent[]> {
    return expireCommands(this.db, filter);
  }

  async find(id: string): Promise<CommandRow | undefined> {
    const { rows } = await this.db.query<CommandRow>(
      `SELECT ${DEVICE_COMMAND_COLUMNS} FROM device_commands WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  async listForVehicle(vehicleId: string, limit: number): Promise<CommandRow[]> {
    const { rows } = await this.db.query<CommandRow>(
      `SELECT ${DEVICE_COMMAND_COLUMNS} FROM device_commands WHERE vehicle_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
      [vehicleId, limit],
    );
    return rows;
  }
}
