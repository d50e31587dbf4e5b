// Downlink commands on clutch/v1/{tenant}/{device}/cmd/{id}: the envelope is contracts'
// commandRequestSchema ({v, id, type, params, expiresAt}); this module checks each type's params and
// turns the request into what the agent executes. Results use contracts' commandResultSchema.
import { isVehicleSignal, parseCommandRequest, signalByKey, type CommandResult } from '@clutch/contracts';

export type { CommandResult };

export type AgentCommand =
  /** Read DTCs (Modes 03/07/0A) now; the result carries the codes and a report goes to /dtc. */
  | { readonly type: 'read_dtcs' }
  /**
   * SAE J1979 Mode 04. Erases codes, freeze frames and readiness monitors, so it must be a deliberate
   * act: params.authorisedBy names who authorised it, and the agent refuses while the vehicle moves.
   */
  | { readonly type: 'clear_dtcs'; readonly authorisedBy: string }
  /**
   * params.periodsMs: polling periods in ms per plan item: a Mode 01 PID ('0C'), 'ATRV', a vehicle
   * command ('221002@700', '22005C@DA11'), or a vehicle-specific signal's catalogue key
   * ('vehicle.camry_12v_v', for the command that reads it); 0 stops it. Replaces earlier overrides.
   */
  | { readonly type: 'set_poll_plan'; readonly periodsMs: Readonly<Record<string, number>> }
  /** Answers with the agent's stats (queue, reads/s, adapter, profile). */
  | { readonly type: 'report_status' }
  /** Restarts the agent process (the service manager starts it again); queued data stays on disk. */
  | { readonly type: 'reboot' };

export type ParsedCommand =
  { ok: true; value: AgentCommand } | { ok: false; code: 'COMMAND_INVALID' | 'COMMAND_EXPIRED'; reason: string };

/** A Mode 01 PID, ATRV, or a vehicle command `<service 21|22><id>@<OBDb header>` as the plan names it. */
const PLAN_KEY = /^(?:[0-9A-F]{2}|ATRV|(?:21[0-9A-F]{2}|22[0-9A-F]{4})@(?:[0-9A-F]{3}|[0-9A-F]{4}))$/;
const SIGNAL_KEY = /^vehicle\.[a-z0-9_]{1,96}$/;

/** The key as the plan knows it, or undefined when it names nothing the agent could poll. */
function planKey(key: string): string | undefined {
  if (SIGNAL_KEY.test(key)) {
    const signal = signalByKey(key);
    return signal && isVehicleSignal(signal) ? key : undefined;
  }
  const upper = key.toUpperCase();
  return PLAN_KEY.test(upper) ? upper : undefined;
}

function invalid(reason: string): ParsedCommand {
  return { ok: false, code: 'COMMAND_INVALID', reason };
}

/**
 * Parses and checks a command; `topicId` is the {id} of the topic, which the payload must repeat.
 * `messageExpiresAt` is the MQTT 5 message expiry (receipt + Message Expiry Interval), when there is one.
 */
export function parseCommand(
  payload: Uint8Array | string,
  topicId?: string,
  now = Date.now(),
  messageExpiresAt?: number,
): ParsedCommand {
  const parsed = parseCommandRequest(payload);
  if (!parsed.ok) return invalid(parsed.reason);
  const { id, type, params, expiresAt } = parsed.value;
  if (topicId !== undefined && id !== topicId) return invalid(`payload id ${id} does not match topic id ${topicId}`);
  // A command queued while the car was offline may arrive long after the user gave up on it.
  const deadline = messageExpiresAt === undefined ? expiresAt : Math.min(expiresAt, messageExpiresAt);
  if (deadline < now)
    return { ok: false, code: 'COMMAND_EXPIRED', reason: `expired at ${new Date(deadline).toISOString()}` };
  const keys = Object.keys(params);
  switch (type) {
    case 'read_dtcs':
    case 'report_status':
    case 'reboot':
      return keys.length === 0 ? { ok: true, value: { type } } : invalid(`${type} takes no params`);
    case 'clear_dtcs': {
      const by = params['authorisedBy'];
      if (keys.some((k) => k !== 'authorisedBy')) return invalid('clear_dtcs takes only params.authorisedBy');
      if (typeof by !== 'string' || by.trim() === '' || by.length > 128)
        return invalid('clear_dtcs needs params.authorisedBy (1-128 chars)');
      return { ok: true, value: { type, authorisedBy: by } };
    }
    case 'set_poll_plan': {
      const periods = params['periodsMs'];
      if (keys.some((k) => k !== 'periodsMs')) return invalid('set_poll_plan takes only params.periodsMs');
      if (typeof periods !== 'object' || periods === null || Array.isArray(periods))
        return invalid('params.periodsMs must be an object');
      const out: Record<string, number> = {};
      for (const [pid, ms] of Object.entries(periods)) {
        const key = planKey(pid);
        if (key === undefined) return invalid(`bad PID or signal ${JSON.stringify(pid)}`);
        // 50 ms floor: faster than an ELM327 at 38400 baud answers one PID.
        if (typeof ms !== 'number' || !Number.isInteger(ms) || (ms !== 0 && (ms < 50 || ms > 86_400_000))) {
          return invalid(`period of ${key} must be 0 or 50..86400000 ms`);
        }
        out[key] = ms;
      }
      return { ok: true, value: { type, periodsMs: out } };
    }
  }
}
