import { COMMAND_TYPES } from '@clutch/contracts';
import { z } from 'zod';
import { pageParams } from '../http/pagination.js';
import { requireStepUp } from '../auth/step-up.js';
import type { ApiRouter } from '../http/route.js';
import { uuid, vehicleParams } from '../shared/schemas.js';
import { VEHICLE_COMMANDS_LISTING } from './repository.js';
import { COMMAND_PAGE, COMMAND_TIMEOUT, type CommandsService } from './service.js';

export const createCommandBody = z.strictObject({
  type: z.enum(COMMAND_TYPES),
  params: z
    .record(z.string(), z.unknown())
    .refine((p) => JSON.stringify(p).length <= 8192, { error: 'must serialise to at most 8 KiB' })
    .default({}),
  timeoutMs: z.int().min(COMMAND_TIMEOUT.minMs).max(COMMAND_TIMEOUT.maxMs).default(COMMAND_TIMEOUT.defaultMs),
});

const commandSchema = z.object({
  id: z.string(),
  vehicleId: z.string(),
  deviceId: z.string(),
  type: z.string(),
  params: z.record(z.string(), z.unknown()),
  status: z.enum(['pending', 'sent', 'succeeded', 'failed', 'timed_out']),
  result: z.unknown(),
  error: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
  completedAt: z.string().nullable(),
});

const listQuery = z.object(pageParams(VEHICLE_COMMANDS_LISTING, COMMAND_PAGE));

export function commandRoutes(router: ApiRouter, commands: CommandsService): void {
  router.route({
    method: 'post',
    path: '/vehicles/:id/commands',
    tag: 'commands',
    summary:
      "Send a command to the vehicle's device (MQTT QoS 1); poll GET /api/commands/{id} or watch `command` events for the result",
    access: { scope: 'commands:write' },
    params: vehicleParams,
    body: createCommandBody,
    response: {
      status: 202,
      description: 'Accepted and sent; the device has until expiresAt to answer',
      schema: commandSchema,
      headers: ['Location'],
    },
    errors: ['VEHICLE_NOT_FOUND', 'NO_DEVICE', 'COMMANDS_UNAVAILABLE', 'COMMAND_DELIVERY_FAILED'],
    handle: async ({ scope, params, body, ctx, principal }) => {
      if (body.type === 'clear_dtcs') await requireStepUp({ principal, scope }, 'command.clear-dtcs'); // docs/mfa.md
      const command = await commands.create(scope, params.id, body);
      ctx.set('Location', `/api/commands/${command.id}`);
      return command;
    },
  });

  router.route({
    method: 'get',
    path: '/commands/:id',
    tag: 'commands',
    summary: 'A command and its outcome; an unanswered command past expiresAt reads timed_out',
    description:
      "Decided on the command's vehicle: anyone holding `commands:write` on it (its owner, its shop, a shop it is shared " +
      'with for `commands:write`) reads it; any other command answers 404 like a missing one.',
    // The route names no vehicle: the service decides on the command's (owners hold it on their cars only).
    access: { permission: 'commands:write', perResource: 'service' },
    params: z.object({ id: uuid }),
    response: { status: 200, description: 'The command', schema: commandSchema },
    errors: ['COMMAND_NOT_FOUND'],
    handle: ({ scope, params, policy }) => commands.get(scope, params.id, policy),
  });

  router.route({
    method: 'get',
    path: '/vehicles/:id/commands',
    tag: 'commands',
    summary: "The vehicle's commands, newest first, a page at a time",
    access: { scope: 'commands:write' },
    params: vehicleParams,
    query: listQuery,
    response: {
      status: 200,
      description: 'A page of commands; `next` is the cursor of the next page (null on the last)',
      schema: z.object({ commands: z.array(commandSchema), next: z.string().nullable() }),
    },
    errors: ['VEHICLE_NOT_FOUND'],
    handle: async ({ scope, params, query }) => {
      const { items, next } = await commands.list(scope, params.id, query);
      return { commands: items, next };
    },
  });
}
