// Downlink command payloads on clutch/v1/{tenant}/{device}/cmd/{id} and their results on
// .../cmd/{id}/result (DESIGN §4). Written without zod so the agent stays small; the lead moves the
// schema into @clutch/contracts (see docs/gateway-agent.md "Commands").

export const COMMAND_VERSION = 1;
export const MAX_COMMAND_BYTES = 4096;

export type AgentCommand =
  /** Read DTCs (Modes 03/07/0A) now; the result carries the codes and a report goes to /dtc. */
  | { readonly v: 1; readonly type: 'read_dtcs' }
  /**
   * SAE J1979 Mode 04. Erases codes, freeze frames and readiness monitors, so it must be a deliberate
   * act: the command names who authorised it, and the agent refuses while the vehicle moves.
   */
  | { readonly v: 1; readonly type: 'clear_dtcs'; readonly authorisedBy: string }
  /** Per-PID polling periods in ms ('0C', 'ATRV'); 0 stops a PID. Replaces earlier overrides. */
  | { readonly v: 1; readonly type: 'set_poll_plan'; readonly periodsMs: Readonly<Record<string, number>> }
  /** Answers with the agent's stats (queue, reads/s, adapter). */
  | { readonly v: 1; readonly type: 'report_status' };

export type CommandResult =
  | { readonly v: 1; readonly id: string; readonly ok: true; readonly result?: unknown }
  | { readonly v: 1; readonly id: string; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

export type ParsedCommand = { ok: true; value: AgentCommand } | { ok: false; reason: string };

const PID_KEY = /^([0-9A-F]{2}|ATRV)$/;

export function parseCommand(payload: Uint8Array | string): ParsedCommand {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  if (Buffer.byteLength(text) > MAX_COMMAND_BYTES) return { ok: false, reason: `command larger than ${MAX_COMMAND_BYTES} bytes` };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, reason: 'not an object' };
  const o = data as Record<string, unknown>;
  if (o['v'] !== COMMAND_VERSION) return { ok: false, reason: `v must be ${COMMAND_VERSION}` };
  const allowed = (keys: string[]) => Object.keys(o).every((k) => ['v', 'type', ...keys].includes(k));
  switch (o['type']) {
    case 'read_dtcs':
    case 'report_status':
      return allowed([]) ? { ok: true, value: { v: 1, type: o['type'] } } : { ok: false, reason: 'unexpected keys' };
    case 'clear_dtcs': {
      const by = o['authorisedBy'];
      if (!allowed(['authorisedBy'])) return { ok: false, reason: 'unexpected keys' };
      if (typeof by !== 'string' || by.trim() === '' || by.length > 128) return { ok: false, reason: 'clear_dtcs needs authorisedBy (1-128 chars)' };
      return { ok: true, value: { v: 1, type: 'clear_dtcs', authorisedBy: by } };
    }
    case 'set_poll_plan': {
      const periods = o['periodsMs'];
      if (!allowed(['periodsMs'])) return { ok: false, reason: 'unexpected keys' };
      if (typeof periods !== 'object' || periods === null || Array.isArray(periods)) return { ok: false, reason: 'periodsMs must be an object' };
      const out: Record<string, number> = {};
      for (const [pid, ms] of Object.entries(periods)) {
        const key = pid.toUpperCase();
        // 50 ms floor: faster than an ELM327 at 38400 baud answers one PID.
        if (!PID_KEY.test(key)) return { ok: false, reason: `bad PID ${JSON.stringify(pid)}` };
        if (typeof ms !== 'number' || !Number.isInteger(ms) || (ms !== 0 && (ms < 50 || ms > 86_400_000))) {
          return { ok: false, reason: `period of ${key} must be 0 or 50..86400000 ms` };
        }
        out[key] = ms;
      }
      return { ok: true, value: { v: 1, type: 'set_poll_plan', periodsMs: out } };
    }
    default:
      return { ok: false, reason: `unknown type ${JSON.stringify(o['type'])}` };
  }
}
