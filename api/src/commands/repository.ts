import {
  DEVICE_COMMAND_COLUMNS,
  expireCommands,
  insertCommand,
  markCommandFailed,
  markCommandSent,
  type CommandEvent,
  type CommandStatus,
  type DeviceCommandRow,
  type Queryable,
} from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';

export type { CommandStatus };
export type CommandRow = DeviceCommandRow;

/** A vehicle's commands, newest first (device_commands_vehicle_idx); the id breaks ties. */
export const VEHICLE_COMMANDS_LISTING: Listing = {
  name: 'vehicle-commands',
  key: 'created_at',
  id: 'id',
  idType: 'uuid',
};

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

  /** pending -> sent (a result that already arrived is left alone); true when the row changed. */
  markSent(id: string): Promise<boolean> {
    return markCommandSent(this.db, id);
  }

  /** pending | sent -> failed; true when the row changed. */
  markFailed(id: string, error: string): Promise<boolean> {
    return markCommandFailed(this.db, id, error);
  }

  /**
   * Times out the command (or the vehicle's commands) whose deadline passed unanswered, by the one
   * rule ingest's sweep applies too, and returns the `command` events to append in this transaction.
   */
  expire(filter: { id: string } | { vehicleId: string }): Promise<CommandEvent[]> {
    return expireCommands(this.db, filter);
  }

  async find(id: string): Promise<CommandRow | undefined> {
    const { rows } = await this.db.query<CommandRow>(
      `SELECT ${DEVICE_COMMAND_COLUMNS} FROM device_commands WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  listForVehicle(vehicleId: string, page: PageRequest): Promise<Page<CommandRow>> {
    return keysetPage<CommandRow>(
      this.db,
      VEHICLE_COMMANDS_LISTING,
      { sql: `SELECT ${DEVICE_COMMAND_COLUMNS} FROM device_commands WHERE vehicle_id = $1`, params: [vehicleId] },
      page,
    );
  }
}
