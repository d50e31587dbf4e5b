import { ledger } from '@clutch/api';
import type { CliOutput } from '../audit/cli.js';
import { openExistingDatabase } from '../config/open-existing.js';

export const LEDGER_USAGE = `usage: clutch-admin ledger verify [--database-url URL | --data-dir DIR]
  Recomputes the ledger's hash chain (every transfer's hash from its fields and the one before it,
  seq gapless) and every account's totals from its transfers and postings, and checks that each
  currency's postings sum to zero (docs/ledger.md, "Verify"). Prints the first problems found.
  Exit status: 0 intact, 1 broken, 2 bad usage or no database.`;

/** `clutch-admin ledger <subcommand>`; resolves to the exit status. */
export async function ledgerCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  io: CliOutput,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'verify') {
    io.err(sub === undefined ? LEDGER_USAGE : `unknown ledger command ${JSON.stringify(sub)}\n${LEDGER_USAGE}`);
    return 2;
  }
  const opened = await openExistingDatabase(rest, env, cwd, io, { maxConnections: 1, prepare: 'migrate' });
  if (typeof opened === 'number') return opened;
  const { db } = opened;
  try {
    // One snapshot for the whole check: transfers committed meanwhile are not half-counted.
    const report = await db.transaction(async (q) => {
      await q.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      return ledger.verify(q);
    });
    if (report.ok) {
      io.out(`ledger intact: ${report.transfers} transfers, hash chain and account totals verified`);
      return 0;
    }
    io.err(`ledger BROKEN (${report.transfers} transfers checked):`);
    for (const problem of report.problems) io.err(`  ${problem}`);
    return 1;
  } finally {
    await db.close();
  }
}
