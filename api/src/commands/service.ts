import { commandRequestSchema, type CommandRequest, type CommandType } from '@clutch/contracts';
import type { Queryable } from '@clutch/db';
import { appendLiveEvent, appendLiveEvents } from '@clutch/jobs';
import type { Logger } from 'pino';
import type { RequestPolicy } from '../auth/policy.js';
import type { Scope } from '../auth/principal.js';
import { apiError } from '../errors.js';
import { DevicesRepository } from '../devices/repository.js';
import type { Page, PageRequest } from '../http/pagination.js';
import { toIso } from '../shared/time.js';
import { requireVehicleData, vehicleResource } from '../vehicles/access.js';
import { CommandsRepository, type CommandRow, type CommandStatus } from './repository.js';

/** All the service needs of the request's scope: somewhere to run its SQL (tenant-confined for partners). */
export type CommandScope = Pick<Scope, 'run'>;
/** What the service asks of the policy function: may the caller command this vehicle? */
export type CommandPolicy = Pick<RequestPolicy, 'decide'>;

export interface CommandTarget {
  tenantId: string;
  deviceId: string;
}

/**
 * The downlink port: the platform publishes the request on `clutch/v1/{tenant}/{device}/cmd/{id}`
 * with QoS 1 and resolves once the broker accepted it. Results come back through ingest.
 */
export interface CommandSender {
  send(target: CommandTarget, request: CommandRequest): Promise<void>;
}

export interface Command {
  id: string;
  vehicleId: string;
  deviceId: string;
  type: string;
  params: Record<string, unknown>;
  status: CommandStatus;
  result: unknown;
  error: string | null;
  createdAt: string;
  expiresAt: string;
  completedAt: string | null;
}

export const COMMAND_TIMEOUT = { defaultMs: 30_000, minMs: 1_000, maxMs: 600_000 } as const;
/** Page sizes of a vehicle's command list (the default is the list's size before it paged). */
export const COMMAND_PAGE = { defaultLimit: 20, maxLimit: 200 } as const;

function toCommand(row: CommandRow): Command {
  return {
    id: row.id,
    vehicleId: row.vehicle_id,
    deviceId: row.device_id,
    type: row.type,
    params: row.params,
    status: row.status,
    result: row.result ?? null,
    error: row.error,
    createdAt: toIso(row.created_at) ?? '',
    expiresAt: toIso(row.expires_at) ?? '',
    completedAt: toIso(row.completed_at),
  };
}

export const commandNotFound = (id: string): Error =>
  apiError('COMMAND_NOT_FOUND', `No command with id ${id}`, { commandId: id });

/**
 * Commands for a vehicle's device. Every status change and its `command` event (appended to the
 * outbox, which the relay puts on the live-event bus) commit in one transaction: an event is
 * announced exactly when its change is stored.
 */
export class CommandsService {
  constructor(
    private readonly sender: CommandSender | undefined,
    private readonly logger: Logger,
  ) {}

  /**
   * Stores the command (committed before it is sent, so a fast answer finds its row), sends it to
   * the vehicle's most reachable device and marks it sent.
   *
   * A vehicle shared with the caller's shop for commands:write is another tenant's: the command row
   * is the device's (owner's) tenant, which the narrow policies of migration 029 let this confined
   * transaction write, and its events go to the owner's tenant as for the owner's own commands.
   */
  async create(
    scope: CommandScope,
    vehicleId: string,
    input: { type: CommandType; params: Record<string, unknown>; timeoutMs: number },
  ): Promise<Command> {
    const sender = this.sender;
    if (!sender) throw apiError('COMMANDS_UNAVAILABLE', 'This server has no downlink to devices configured');
    const created = await scope.run(async (q) => {
      await requireVehicleData(q, vehicleId, 'commands:write');
      const [device] = await new DevicesRepository(q).forVehicle(vehicleId);
      if (!device)
        throw apiError('NO_DEVICE', `Vehicle ${vehicleId} has no device to send the command to`, { vehicleId });
      return new CommandsRepository(q).insert({ tenantId: device.tenant_id, deviceId: device.id, vehicleId, ...input });
    });
    const request = commandRequestSchema.parse({
      v: 1,
      id: created.id,
      type: input.type,
      params: input.params,
      expiresAt: new Date(created.expires_at).getTime(),
    });
    try {
      await sender.send({ tenantId: created.tenant_id, deviceId: created.device_id }, request);
    } catch (err) {
      this.logger.warn({ err, commandId: created.id }, 'command delivery failed');
      await scope.run(async (q) => {
        if (await new CommandsRepository(q).markFailed(created.id, 'delivery to the broker failed'))
          await announce(q, { ...created, status: 'failed' });
      });
      throw apiError('COMMAND_DELIVERY_FAILED', 'The broker did not accept the command; it is marked failed', {
        commandId: created.id,
      });
    }
    const sent = await scope.run(async (q) => {
      const repo = new CommandsRepository(q);
      const changed = await repo.markSent(created.id);
      const row = (await repo.find(created.id)) ?? created;
      if (changed) await announce(q, row);
      return row;
    });
    return toCommand(sent);
  }

  /**
   * The command, timed out first if its deadline passed unanswered (the same rule as ingest's
   * sweep). Whichever of this read and the sweep changed the row announces the timeout; the other
   * found nothing to change.
   *
   * The route names no vehicle, so this decides on the command's own: the caller needs
   * commands:write on it (an owner on their car, a shop on its vehicles and those shared with it for
   * commands:write). Another's command answers exactly like a missing one, and is left untouched.
   */
  async get(scope: CommandScope, id: string, policy: CommandPolicy): Promise<Command> {
    const row = await scope.run(async (q) => {
      const repo = new CommandsRepository(q);
      const found = await repo.find(id);
      if (!found) return undefined;
      const vehicle = await vehicleResource(q, found.vehicle_id);
      if (!vehicle || !(await policy.decide('commands:write', vehicle)).allow) return undefined;
      const expired = await repo.expire({ id });
      if (expired.length === 0) return found;
      await appendLiveEvents(q, expired);
      return repo.find(id);
    });
    if (!row) throw commandNotFound(id);
    return toCommand(row);
  }

  /** A page of the vehicle's commands, newest first, its overdue ones timed out (and announced) first. */
  async list(scope: CommandScope, vehicleId: string, page: PageRequest): Promise<Page<Command>> {
    const { items, next } = await scope.run(async (q) => {
      await requireVehicleData(q, vehicleId, 'commands:write');
      const repo = new CommandsRepository(q);
      await appendLiveEvents(q, await repo.expire({ vehicleId }));
      return repo.listForVehicle(vehicleId, page);
    });
    return { items: items.map(toCommand), next };
  }
}

/** The `command` event of the row's status, appended in the transaction that set it. */
function announce(q: Queryable, row: CommandRow): Promise<string> {
  return appendLiveEvent(q, {
    type: 'command',
    tenantId: row.tenant_id,
    vehicleId: row.vehicle_id,
    commandId: row.id,
    status: row.status,
  });
}
