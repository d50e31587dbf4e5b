import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';
import type { Database } from './types.js';

export interface DatabaseConfig {
  /** A postgres:// URL; when absent the embedded PGlite database is used. */
  url?: string | undefined;
  /** PGlite data directory; undefined means in-memory. */
  dataDir?: string | undefined;
  /** Pool size for PostgreSQL. */
  maxConnections?: number;
  /** PostgreSQL: parameterised statements prepared once per connection (postgres.ts, PostgresOptions). */
  preparedStatements?: boolean;
}

export function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (config.url)
    return openPostgres(config.url, {
      ...(config.maxConnections !== undefined ? { max: config.maxConnections } : {}),
      ...(config.preparedStatements ? { preparedStatements: true } : {}),
    });
  return openPglite(config.dataDir);
}
