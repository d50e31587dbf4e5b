import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { migrate, openDatabase, prepareStorage, type Database } from '@clutch/db';
import type { CliOutput } from '../audit/cli.js';
import { ConfigError, loadConfig, type PlatformConfig } from './config.js';

export interface OpenExistingOptions {
  maxConnections: number;
  /**
   * What the command needs of the schema: `none` reads it as it is (a verifier must not change what it
   * checks), `migrate` brings a deployment updated since its last start up to date, `storage` also
   * prepares the samples' partitions or chunks as every start does.
   */
  prepare: 'none' | 'migrate' | 'storage';
}

export interface OpenedDatabase {
  config: PlatformConfig;
  db: Database;
}

/**
 * Opens the database an offline command (admin, audit, ledger, import) works on: the one `npm start`
 * uses, from the same options and environment. Resolves to the exit status instead when the options
 * are bad (2, said on `io`) or the database is not there: opening a PGlite directory that does not
 * exist would create an empty database, so a typo would quietly work on a new one.
 */
export async function openExistingDatabase(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  io: CliOutput,
  options: OpenExistingOptions,
): Promise<OpenedDatabase | number> {
  let config: PlatformConfig;
  try {
    config = loadConfig(argv, env, cwd);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 2;
    }
    throw err;
  }
  if (!config.databaseUrl && !existsSync(join(config.dataDir, 'PG_VERSION'))) {
    io.err(`no database in ${config.dataDir} (give --data-dir or --database-url; start the platform once first)`);
    return 2;
  }
  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    maxConnections: options.maxConnections,
  });
  try {
    if (options.prepare !== 'none') await migrate(db);
    if (options.prepare === 'storage') await prepareStorage(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return { config, db };
}
