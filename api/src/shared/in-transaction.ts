import type { Database, DatabaseKind, Queryable } from '@clutch/db';

/**
 * A `Database` face on a transaction a scope already opened, for the @clutch/identity functions that
 * open transactions of their own (provisioning, credential rotation). Their transactions become
 * savepoints, so the device, its credential and the audit row commit together, and a failure inside
 * rolls back to the savepoint before it reaches the scope. Everything else a Database can do (tenant
 * scopes, pings, closing) has no meaning inside a transaction and throws.
 */
export function inTransaction(q: Queryable): Database {
  let depth = 0;
  const unavailable = (what: string): never => {
    throw new Error(`${what} is not available inside a scope's transaction`);
  };
  return {
    get kind(): DatabaseKind {
      return unavailable('kind');
    },
    get location(): string {
      return unavailable('location');
    },
    query: (sql, params) => q.query(sql, params),
    exec: (sql) => q.exec(sql),
    async transaction(fn) {
      const savepoint = `clutch_sp_${++depth}`;
      await q.query(`SAVEPOINT ${savepoint}`);
      try {
        const result = await fn(q);
        await q.query(`RELEASE SAVEPOINT ${savepoint}`);
        return result;
      } catch (err) {
        await q.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
        throw err;
      } finally {
        depth--;
      }
    },
    withTenant: () => unavailable('withTenant'),
    ping: () => unavailable('ping'),
    close: () => unavailable('close'),
  };
}
