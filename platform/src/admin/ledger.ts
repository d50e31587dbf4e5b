import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ledger } from '@clutch/api';
import { migrate, openDatabase } from '@clutch/db';
import type { CliOutput } from '../audit/cli.js';
import { ConfigError, loadConfig } from '../config/config.js';

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
  let config;
  try {
    config = loadConfig(rest, env, cwd);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 2;
    }
    throw err;
  }
  if (!config.databaseUrl && !existsSync(join(config.dataDir, 'PG_VERSION'))) {
    io.err(`no database in ${config.dataDir} (give --data-dir or --database-url)`);
    return 2;
  }
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, maxConnections: 1 });
  try {
    await migrate(db);
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
