// Executes downlink commands against the adapter and answers on .../cmd/{id}/result.
import type { Logger } from 'pino';
import { clearDtcs, dtcReport, readDtcs } from '../diagnostics/diagnostics.js';
import type { Elm327Driver } from '../elm327/driver.js';
import { agentError, agentErrorCode } from '../errors.js';
import type { CommandDelivery, TelemetryPublisher } from '../uplink/publisher.js';
import { parseCommand, type AgentCommand, type CommandResult } from './command-schema.js';

/** What the commands need of the adapter link (agent/adapter-link.ts AdapterLink). */
export interface CommandLink {
  readonly driver: Elm327Driver | undefined;
  readonly info?: { readonly isCan: boolean };
  /**
   * Runs a command on the adapter between poll requests with the bus default setup (agent/poller.ts
   * exclusive): without it a DTC request could go to the ECU the last vehicle command addressed.
   */
  readonly exclusive?: <T>(fn: (driver: Elm327Driver) => Promise<T>) => Promise<T>;
}

/** What the commands need of the poller (agent/poller.ts Poller). */
export interface CommandPoller {
  setPeriods(periodsMs: Readonly<Record<string, number>>): void;
  plan(): readonly { readonly pid: string; readonly periodMs: number }[];
}

export interface CommandDeps {
  readonly link: CommandLink;
  readonly poller: CommandPoller;
  readonly publisher: TelemetryPublisher;
  readonly logger: Logger;
  readonly stats: () => unknown;
  /** Last vehicle speed read (km/h), to refuse Mode 04 while driving. */
  readonly lastSpeed: () => number | undefined;
  /** Carries out `reboot` (the CLI stops gracefully and exits; systemd starts it again). Absent: refused. */
  readonly reboot?: () => void;
  /** MQTT 5 properties of the command: where to answer, what to echo, its message expiry. */
  readonly delivery?: CommandDelivery;
}

async function execute(command: AgentCommand, deps: CommandDeps): Promise<unknown> {
  const driver = deps.link.driver;
  const onAdapter = <T>(fn: (d: Elm327Driver) => Promise<T>): Promise<T> => {
    if (deps.link.exclusive) return deps.link.exclusive(fn);
    if (!driver) throw agentError('ADAPTER_UNAVAILABLE');
    return fn(driver);
  };
  switch (command.type) {
    case 'report_status':
      return deps.stats();
    case 'reboot':
      if (!deps.reboot) throw agentError('NOT_SUPPORTED', 'no service manager to restart this agent');
      // Answer first: the result must leave before the process does.
      setTimeout(deps.reboot, 500);
      return { restarting: true };
    case 'set_poll_plan':
      deps.poller.setPeriods(command.periodsMs);
      return { plan: deps.poller.plan().map((p) => ({ pid: p.pid, periodMs: p.periodMs })) };
    case 'read_dtcs': {
      const codes = await onAdapter((d) => readDtcs(d, deps.link.info?.isCan ?? true));
      await deps.publisher.publishMessage('dtc', JSON.stringify(dtcReport(codes)));
      return { codes };
    }
    case 'clear_dtcs': {
      if (!driver) throw agentError('ADAPTER_UNAVAILABLE');
      const speed = deps.lastSpeed();
      if (speed === undefined || speed > 0)
        throw agentError('VEHICLE_MOVING', 'Mode 04 only with the vehicle stationary');
      deps.logger.warn(
        { authorisedBy: command.authorisedBy },
        'clearing DTCs (SAE J1979 Mode 04) on an authorised command',
      );
      const codes = await onAdapter(async (d) => {
        if (!(await clearDtcs(d))) throw agentError('ECU_REFUSED', 'no positive response to Mode 04');
        return readDtcs(d, deps.link.info?.isCan ?? true);
      });
      await deps.publisher.publishMessage('dtc', JSON.stringify(dtcReport(codes)));
      return { cleared: true, remaining: codes };
    }
  }
}

/**
 * Handles one command message; always publishes exactly one result (on the MQTT 5 response topic with
 * the correlation data echoed when the command came with them). A command runs only before the earlier
 * of its payload's expiresAt and its MQTT 5 message expiry.
 */
export async function handleCommand(id: string, payload: Buffer, deps: CommandDeps): Promise<CommandResult> {
  const parsed = parseCommand(payload, id, Date.now(), deps.delivery?.expiresAt);
  let result: CommandResult;
  if (!parsed.ok) {
    result = { v: 1, id, ok: false, error: { code: parsed.code, message: parsed.reason } };
  } else {
    try {
      result = { v: 1, id, ok: true, result: await execute(parsed.value, deps) };
    } catch (err) {
      // An agent error (adapter timeout, vehicle moving, ...) keeps its catalogue code; anything else is a failure.
      const code = agentErrorCode(err) ?? 'COMMAND_FAILED';
      result = { v: 1, id, ok: false, error: { code, message: (err as Error).message } };
    }
  }
  await deps.publisher
    .publishCommandResult(id, JSON.stringify(result), deps.delivery)
    .catch((err: unknown) => deps.logger.warn({ err: (err as Error).message, id }, 'command result publish failed'));
  return result;
}
