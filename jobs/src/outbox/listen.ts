import { pgliteOf, type Database } from '@clutch/db';
import pg from 'pg';

/** Subscribes onNotify to a channel; resolves to an unsubscribe. */
export type Listen = (channel: string, onNotify: () => void) => Promise<() => Promise<void>>;

/** The channel migration 014's trigger notifies at the commit of every outbox insert. */
export const OUTBOX_CHANNEL = 'clutch_outbox';

/**
 * LISTEN for a database: in-process on PGlite (its single connection delivers its own NOTIFYs), a
 * dedicated connection on PostgreSQL (a pooled connection cannot hold a LISTEN). Undefined when
 * there is no way to listen (PostgreSQL without its URL): the relay then polls.
 */
export function listenerFor(db: Database, url?: string): Listen | undefined {
  if (db.kind === 'pglite') {
    const pglite = pgliteOf(db);
    return pglite ? (channel, onNotify) => pglite.listen(channel, () => onNotify()) : undefined;
  }
  return url ? postgresListener(url) : undefined;
}

/**
 * LISTEN on its own client, reconnecting after a drop (server restart). Notifications sent while it
 * is down are lost, so it calls onNotify after every (re)connect: the relay's read then catches up.
 */
export function postgresListener(url: string, reconnectMs = 1000): Listen {
  return async (channel, onNotify) => {
    let client: pg.Client | undefined;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;

    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: url, application_name: 'clutch-outbox-listen' });
      c.on('notification', () => onNotify());
      c.on('error', () => retry());
      c.on('end', () => retry());
      client = c;
      await c.connect();
      await c.query(`LISTEN ${channel}`);
      onNotify();
    };
    const retry = (): void => {
      if (closed || timer) return;
      client?.removeAllListeners();
      client?.end().catch(() => {});
      client = undefined;
      timer = setTimeout(() => {
        timer = undefined;
        connect().catch(() => retry());
      }, reconnectMs);
    };

    await connect();
    return async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = undefined;
      c?.removeAllListeners();
      c?.on('error', () => {});
      await c?.end().catch(() => {});
    };
  };
}
