import type { Aedes, Client } from 'aedes';
import type { Principal } from '../policy/principal.js';

/** setTimeout's longest delay (about 24.8 days); longer expiries are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long an ended principal is remembered for logins that were already being checked. */
const REMEMBER_ENDED_MS = 60_000;

export interface LiveSessions {
  /** Starts watching the broker's sessions; once, right after aedes is created. */
  attach(aedes: Aedes): void;
  /** Called when authentication of a CONNECT starts (before any credential lookup). */
  authenticating(client: Client): void;
  /**
   * Ends every live session whose principal matches; returns how many. A login whose credential
   * check started before this call and completes after it is ended too when it registers: its
   * lookup may have read the credential just before the revocation was committed.
   */
  end(matches: (p: Principal, client: Client) => boolean): number;
  /**
   * Ends this session at `at` (epoch ms) unless it ends earlier: what it was allowed rests on a
   * grant or share that runs out then. The earliest of several stays armed.
   */
  endAt(client: Client, at: number, reason: string): void;
}

/**
 * The broker's view of live sessions by principal: ending them on revocation, and closing a
 * partner's session at its API key's expiry and a user's at their access token's (a timer per
 * session, cleared when it ends, so no process ever has to sweep for expired credentials), or
 * earlier when a grant or share it rests on runs out.
 */
export function createLiveSessions(
  principalOf: (client: Client) => Principal | undefined,
  onEnded: (client: Client, reason: string) => void = () => {},
): LiveSessions {
  let clients = (): Client[] => [];
  const startedAt = new WeakMap<Client, number>();
  const expiries = new Map<Client, { timer: NodeJS.Timeout; at: number }>();
  let ended: { at: number; matches: (p: Principal, client: Client) => boolean }[] = [];

  const close = (client: Client, reason: string): void => {
    onEnded(client, reason);
    client.close();
  };
  const armExpiry = (client: Client, expiresAt: number, reason: string): void => {
    const armed = expiries.get(client);
    if (armed && armed.at <= expiresAt) return;
    clearTimeout(armed?.timer);
    expiries.delete(client);
    const wait = expiresAt - Date.now();
    if (wait <= 0) return close(client, reason);
    const timer = setTimeout(
      () => {
        expiries.delete(client);
        armExpiry(client, expiresAt, reason);
      },
      Math.min(wait, MAX_TIMER_MS),
    );
    timer.unref();
    expiries.set(client, { timer, at: expiresAt });
  };

  return {
    attach(aedes) {
      clients = () => Object.values((aedes as unknown as { clients: Record<string, Client> }).clients);
      // 'client': registered after a successful CONNECT; 'clientDisconnect': a registered one left.
      aedes.on('client', (client) => {
        const principal = principalOf(client);
        if (!principal) return;
        const started = startedAt.get(client) ?? 0;
        const now = performance.now();
        ended = ended.filter((e) => now - e.at < REMEMBER_ENDED_MS);
        if (ended.some((e) => e.at >= started && e.matches(principal, client)))
          return close(client, 'credential revoked while logging in');
        if (principal.kind === 'partner' && principal.expiresAt)
          armExpiry(client, principal.expiresAt.getTime(), 'API key expired');
        if (principal.kind === 'user') armExpiry(client, principal.expiresAt.getTime(), 'access token expired');
      });
      aedes.on('clientDisconnect', (client) => {
        clearTimeout(expiries.get(client)?.timer);
        expiries.delete(client);
      });
    },
    authenticating(client) {
      startedAt.set(client, performance.now());
    },
    end(matches) {
      ended.push({ at: performance.now(), matches });
      let count = 0;
      for (const client of clients()) {
        const principal = principalOf(client);
        if (principal && matches(principal, client)) {
          close(client, 'credential revoked');
          count++;
        }
      }
      return count;
    },
    endAt(client, at, reason) {
      if (!client.closed) armExpiry(client, at, reason);
    },
  };
}
