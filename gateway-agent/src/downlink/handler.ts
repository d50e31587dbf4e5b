// Executes downlink commands against the adapter and answers on .../cmd/{id}/result.
import type { Logger } from 'pino';
import type { AdapterLink } from '../agent/adapter-link.js';
import type { Poller } from '../agent/poller.js';
import { clearDtcs, dtcReport, readDtcs } from '../diagnostics/diagnostics.js';
import type { TelemetryPublisher } from '../uplink/publisher.js';
import { parseCommand, type AgentCommand, type CommandResult } from './command-schema.js';

export interface CommandDeps {
  readonly link: AdapterLink;
  readonly poller: Poller;
  readonly publisher: TelemetryPublisher;
  readonly logger: Logger;
  readonly stats: () => unknown;
  /** Last vehicle speed read (km/h), to refuse Mode 04 while driving. */
  readonly lastSpeed: () => number | undefined;
  /** Carries out `reboot` (the CLI stops gracefully and exits; systemd starts it again). Absent: refused. */
  readonly reboot?: () => void;
}

class CommandError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

async function execute(command: AgentCommand, deps: CommandDeps): Promise<unknown> {
  const driver = deps.link.driver;
  switch (command.type) {
    case 'report_status':
      return deps.stats();
    case 'reboot':
      if (!deps.reboot) throw new CommandError('NOT_SUPPORTED', 'this agent has no service manager to restart it');
      // Answer first: the result must leave before the process does.
      setTimeout(deps.reboot, 500);
      return { restarting: true };
    case 'set_poll_plan':
      deps.poller.setPeriods(command.periodsMs);
      return { plan: deps.poller.plan().map((p) => ({ pid: p.pid, periodMs: p.periodMs })) };
    case 'read_dtcs': {
      if (!driver) throw new CommandError('ADAPTER_UNAVAILABLE', 'adapter link is down');
      const codes = await readDtcs(driver, deps.link.info?.isCan ?? true);
      await deps.publisher.publishMessage('dtc', JSON.stringify(dtcReport(codes)));
      return { codes };
    }
    case 'clear_dtcs': {
      if (!driver) throw new CommandError('ADAPTER_UNAVAILABLE', 'adapter link is down');
      const speed = deps.lastSpeed();
      if (speed === undefined || speed > 0) throw new CommandError('VEHICLE_MOVING', 'Mode 04 only with the vehicle stationary (speed 0 km/h read)');
      deps.logger.warn({ authorisedBy: command.authorisedBy }, 'clearing DTCs (SAE J1979 Mode 04) on an authorised command');
      if (!(await clearDtcs(driver))) throw new CommandError('ECU_REFUSED', 'no positive response to Mode 04');
      const codes = await readDtcs(driver, deps.link.info?.isCan ?? true);
      await deps.publisher.publishMessage('dtc', JSON.stringify(dtcReport(codes)));
      return { cleared: true, remaining: codes };
    }
  }
}

/** Handles one command message; always publishes exactly one result. */
export async function handleCommand(id: string, payload: Buffer, deps: CommandDeps): Promise<CommandResult> {
  const parsed = parseCommand(payload, id);
  let result: CommandResult;
  if (!parsed.ok) {
    result = { v: 1, id, ok: false, error: { code: parsed.code, message: parsed.reason } };
  } else {
    try {
      result = { v: 1, id, ok: true, result: await execute(parsed.value, deps) };
    } catch (err) {
      const code = err instanceof CommandError ? err.code : 'COMMAND_FAILED';
      result = { v: 1, id, ok: false, error: { code, message: (err as Error).message } };
    }
  }
  await deps.publisher.publishCommandResult(id, JSON.stringify(result)).catch((err: unknown) =>
    deps.logger.warn({ err: (err as Error).message, id }, 'command result publish failed'));
  return result;
}
