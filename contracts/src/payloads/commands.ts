import { z } from 'zod';
import { parseJsonPayload, type ParseResult } from './parse.js';

/** Downlink command types the agent understands (DESIGN.md §4 `/cmd/{id}`). */
export const COMMAND_TYPES = ['read_dtcs', 'clear_dtcs', 'set_poll_plan', 'report_status', 'reboot'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

/** Published by the platform on `clutch/v1/{tenant}/{device}/cmd/{id}`. */
export const commandRequestSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  type: z.enum(COMMAND_TYPES),
  params: z.record(z.string(), z.unknown()).default({}),
  /** The agent ignores a command that arrives after this time (ms since the epoch). */
  expiresAt: z.int(),
});
export type CommandRequest = z.infer<typeof commandRequestSchema>;

/** Published by the agent on `.../cmd/{id}/result`. */
export const commandResultSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  ok: z.boolean(),
  result: z.unknown().optional(),
  /** Why the agent could not carry the command out, e.g. VEHICLE_MOVING for clear_dtcs. */
  error: z.strictObject({ code: z.string().max(64), message: z.string().max(2000) }).optional(),
});
export type CommandResult = z.infer<typeof commandResultSchema>;

export function parseCommandRequest(payload: Uint8Array | string): ParseResult<CommandRequest> {
  return parseJsonPayload(payload, commandRequestSchema, 16 * 1024);
}
export function parseCommandResult(payload: Uint8Array | string): ParseResult<CommandResult> {
  return parseJsonPayload(payload, commandResultSchema, 64 * 1024);
}
