import { z } from 'zod';
import { parseJsonPayload, type ParseResult } from './parse.js';
import { EPOCH_MAX_MS, EPOCH_MIN_MS } from './time-bounds.js';

const SMALL_PAYLOAD = 16 * 1024;
const epochMs = z.int().min(EPOCH_MIN_MS).max(EPOCH_MAX_MS);

/** Agent states reported on `/status` (gateway-agent agent/agent.ts). */
export const AGENT_STATES = ['waiting-for-adapter', 'initialising', 'polling', 'adapter-lost'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** Retained on `/status`; the agent's Last Will publishes `state: 'offline'`. */
export const statusSchema = z.strictObject({
  v: z.literal(1),
  state: z.enum(['online', 'offline']),
  t: epochMs.optional(),
  vin: z
    .string()
    .regex(/^[A-HJ-NPR-Z0-9]{17}$/)
    .optional(),
  agentVersion: z.string().max(64).optional(),
  adapter: z.string().max(64).optional(),
  protocol: z.string().max(64).optional(),
  /**
   * What the agent is doing while online: waiting for its adapter (port missing, no answer to ATZ),
   * initialising it, polling, or reopening a lost adapter. Absent from agents older than 0.3.
   */
  agentState: z.enum(AGENT_STATES).optional(),
  /** Why the agent is in that state, e.g. the last adapter error while it waits. */
  stateDetail: z.string().max(200).optional(),
});
export type DeviceStatus = z.infer<typeof statusSchema>;

/** A GPS fix on `/location` (NMEA GGA/RMC or gpsd). */
export const locationSchema = z.strictObject({
  v: z.literal(1),
  t: epochMs,
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  altM: z.number().min(-1000).max(20000).optional(),
  speedKmh: z.number().min(0).max(1000).optional(),
  headingDeg: z.number().min(0).max(360).optional(),
  hdop: z.number().min(0).max(100).optional(),
  satellites: z.int().min(0).max(128).optional(),
});
export type LocationFix = z.infer<typeof locationSchema>;

/** SAE J2012 five-character trouble code, e.g. P0301. */
export const dtcCodeSchema = z.string().regex(/^[PCBU][0-3][0-9A-F]{3}$/);

export const dtcReportSchema = z.strictObject({
  v: z.literal(1),
  t: epochMs,
  codes: z
    .array(
      z.strictObject({
        code: dtcCodeSchema,
        kind: z.enum(['stored', 'pending', 'permanent']),
        ecu: z.string().max(8).optional(),
      }),
    )
    .max(255),
});
export type DtcReport = z.infer<typeof dtcReportSchema>;

export function parseStatus(payload: Uint8Array | string): ParseResult<DeviceStatus> {
  return parseJsonPayload(payload, statusSchema, SMALL_PAYLOAD);
}
export function parseLocation(payload: Uint8Array | string): ParseResult<LocationFix> {
  return parseJsonPayload(payload, locationSchema, SMALL_PAYLOAD);
}
export function parseDtcReport(payload: Uint8Array | string): ParseResult<DtcReport> {
  return parseJsonPayload(payload, dtcReportSchema, SMALL_PAYLOAD);
}
