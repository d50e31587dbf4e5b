import { describeChainReport, verifyAuditChain } from '@clutch/api';
import { openExistingDatabase } from '../config/open-existing.js';
import { answerHelp } from '../cli/help.js';

export const AUDIT_USAGE = `usage: clutch-audit verify [--database-url URL | --data-dir DIR]
  Walks the audit log's hash chain and names the first broken link (row id, expected and stored hash).
  The database is the one \`npm start\` uses: DATABASE_URL / --database-url, else the PGlite directory
  (CLUTCH_DATA_DIR / --data-dir, default ./data/pglite; stop the platform first: PGlite is one process's).
  Exit status: 0 the chain holds, 1 it is broken, 2 it could not be checked.`;

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

/** `clutch-audit <command> [options]`; resolves to the exit status. */
export async function auditCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  io: CliOutput,
): Promise<number> {
  const [command, ...rest] = argv;
  const help = answerHelp(command, AUDIT_USAGE, io);
  if (help !== undefined) return help;
  if (command !== 'verify') {
    io.err(`unknown command ${JSON.stringify(command)}\n${AUDIT_USAGE}`);
    return 2;
  }
  // A verifier reads the schema as it is: it must not change what it checks.
  const opened = await openExistingDatabase(rest, env, cwd, io, { maxConnections: 1, prepare: 'none' });
  if (typeof opened === 'number') return opened;
  const { db } = opened;
  try {
    const report = await verifyAuditChain(db);
    (report.broken ? io.err : io.out)(describeChainReport(report));
    return report.broken ? 1 : 0;
  } catch (err) {
    io.err(`could not verify the audit chain in ${db.location}: ${(err as Error).message}`);
    return 2;
  } finally {
    await db.close();
  }
}
