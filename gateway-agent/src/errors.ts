// The agent's error catalogue: every error the agent throws, and every error an adapter reply stands
// for, has one stable code here. Callers compare `code`, never messages or classes; the downlink
// result carries the code to the platform. docs/gateway-agent.md lists them (errors.test.ts checks).
import { ClutchError, isClutchError } from '@clutch/contracts';

export const agentErrors = {
  // The adapter and its serial link (ELM327 datasheet).
  ADAPTER_TIMEOUT: 'the adapter printed no prompt within the timeout',
  ADAPTER_NO_PROMPT: 'the serial stream carries no ELM327 prompt (wrong device or baud rate)',
  ADAPTER_CLOSED: 'the adapter stream is closed',
  ADAPTER_UNAVAILABLE: 'the adapter link is down',
  ADAPTER_UNKNOWN_COMMAND: 'the adapter did not understand the command (?)',
  ADAPTER_STOPPED: 'the adapter stopped listening (STOPPED)',
  ADAPTER_BUFFER_FULL: 'the adapter buffer overflowed (BUFFER FULL)',
  ADAPTER_RESET: 'the adapter reset after a low voltage (LV RESET)',
  ADAPTER_ALERT: 'the adapter went to low power after bus inactivity (ACT ALERT)',
  ADAPTER_ERROR: 'the adapter reported an internal error (ERR)',
  // The vehicle bus and its ECUs (SAE J1979).
  NO_DATA: 'no ECU answered the request (NO DATA)',
  UNABLE_TO_CONNECT: 'no OBD protocol found on the vehicle bus (UNABLE TO CONNECT)',
  BUS_ERROR: 'the vehicle bus failed (BUS ERROR, BUS INIT ERROR, CAN ERROR, FB ERROR)',
  DATA_ERROR: 'a reply failed its check (DATA ERROR, RX ERROR)',
  UNSUPPORTED_PID: 'the signalset defines no Mode 01 command for this PID',
  ECU_REFUSED: 'the ECU gave no positive response',
  VEHICLE_MOVING: 'refused while the vehicle moves (speed not read as 0 km/h)',
  // The agent itself.
  CONFIG_INVALID: 'the agent configuration is invalid',
  USAGE: 'wrong command-line usage',
  DRIVE_INVALID: 'the drive file holds no usable samples',
  REPLAY_INVALID: 'the OBDb repository holds no test cases to replay',
  SIMULATOR_NO_TRANSPORT: 'the simulator needs a stream or a serial path',
  QUEUE_SEQ_EXISTS: 'a batch with this seq is already queued',
  MQTT_CONNECT_TIMEOUT: 'no MQTT connection within the timeout',
  NOT_SUPPORTED: 'this agent cannot carry out the command',
  // Downlink command results (never thrown: parse results and the catch-all).
  COMMAND_INVALID: 'the command payload is invalid',
  COMMAND_EXPIRED: 'the command expired before it arrived',
  COMMAND_FAILED: 'the command failed',
} as const;

export type AgentErrorCode = keyof typeof agentErrors;

/** An agent error: the catalogue's text, then what happened (`detail`), e.g. the command and timeout. */
export function agentError(code: AgentErrorCode, detail?: string, details?: Record<string, unknown>): ClutchError {
  return new ClutchError(code, detail ? `${agentErrors[code]}: ${detail}` : agentErrors[code], details);
}

/** The error's catalogue code, when it is an agent error. */
export function agentErrorCode(err: unknown): AgentErrorCode | undefined {
  return isClutchError(err) && Object.hasOwn(agentErrors, err.code) ? (err.code as AgentErrorCode) : undefined;
}

/** A command that got no usable reply in time (the poller re-initialises after several in a row). */
export function isNoReply(err: unknown): boolean {
  const code = agentErrorCode(err);
  return code === 'ADAPTER_TIMEOUT' || code === 'ADAPTER_NO_PROMPT';
}
