import { createHash } from 'node:crypto';
import type { LiveEventBus } from '@clutch/contracts';
import type { ApiKeyPrincipal } from '@clutch/identity';
import type { AuditLog } from './scope.js';

/** Verifies a `ck_` token against the database (identity's verifyApiKey). */
export type ApiKeyVerifier = (token: string) => Promise<ApiKeyPrincipal | null>;

export interface ApiKeyCacheOptions {
  /**
   * How long a verification is trusted without asking the database again (default 1000 ms). It is
   * the bound on a revocation whose `api-key-revoked` event never arrived (Redis down between
   * processes), so keep it at a second or less; a busy key still costs one query a second.
   */
  ttlMs?: number;
  /** Verified keys kept at most; the least recently used goes first (default 10,000). */
  maxEntries?: number;
  /**
   * How long a key an administrator of this process started revoking is verified against the
   * database on every use (default 5000 ms): long enough for the revocation to commit, after which
   * the database refuses it, whenever the event arrives.
   */
  holdMs?: number;
  now?: () => number;
}

export interface ApiKeyCache {
  /** The principal of a valid token: from the cache while it is fresh, else from `verify` (one query for concurrent askers). */
  verify(token: string, verify: ApiKeyVerifier): Promise<ApiKeyPrincipal | null>;
  /**
   * Drops every verification of this key (and ones in flight). With `holdMs`, the key is also not
   * cached again for that long: its revocation may not have committed yet.
   */
  forget(keyId: string, options?: { holdMs?: number }): void;
  /** Drops a key at once when any process revokes it (`api-key-revoked` on the live-event bus). */
  listen(bus: LiveEventBus): () => void;
  /**
   * Wraps the audit log of administrative scopes: an `api-key.revoke` in this process holds the key
   * out of the cache before its transaction commits, so the next request (the revoker's own, right
   * after its 204) is checked against the database, even before the revocation event is relayed.
   */
  holdRevokedKeys(audit: AuditLog): AuditLog;
  size(): number;
}

interface Entry {
  principal: ApiKeyPrincipal;
  keyId: string;
  /** Until when (ms) the cache answers for it: the TTL, or the key's own expiry when sooner. */
  validUntil: number;
}

/** The key id inside `ck_<id>_<secret>` (identity's token format), to index what a revocation drops. */
const KEY_ID = /^ck_([a-z0-9]{8,32})_/;

/**
 * Verified partner API keys, per process. Keyed by the SHA-256 of the whole token (secret included),
 * so a cached principal is only ever handed to the exact token that proved it: one tenant's key can
 * never answer for another's. Bounded (LRU), short-lived, never trusted past the key's `expires_at`,
 * and dropped on revocation. Refusals are not cached: a wrong token always reaches the database (the
 * failed-authentication limiter slows those down).
 */
export function createApiKeyCache(options: ApiKeyCacheOptions = {}): ApiKeyCache {
  const ttlMs = options.ttlMs ?? 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  const defaultHoldMs = options.holdMs ?? 5000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const inflight = new Map<string, { keyId: string | undefined; result: Promise<ApiKeyPrincipal | null> }>();
  const held = new Map<string, number>();
  // Bumped by every forget: a verification that started before it must not be cached after it.
  let epoch = 0;

  const isHeld = (keyId: string | undefined, at: number): boolean => {
    if (keyId === undefined) return false;
    const until = held.get(keyId);
    if (until === undefined) return false;
    if (until > at) return true;
    held.delete(keyId);
    return false;
  };

  const store = (digest: string, principal: ApiKeyPrincipal, verifiedAt: number): void => {
    const expiry = principal.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
    const validUntil = Math.min(verifiedAt + ttlMs, expiry);
    if (!(validUntil > now())) return;
    entries.delete(digest);
    entries.set(digest, { principal, keyId: principal.keyId, validUntil });
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  };

  const cache: ApiKeyCache = {
    verify(token, verify) {
      const digest = createHash('sha256').update(token, 'utf8').digest('base64');
      const keyId = KEY_ID.exec(token)?.[1];
      const at = now();
      const entry = entries.get(digest);
      if (entry) {
        if (entry.validUntil > at && !isHeld(entry.keyId, at)) {
          // Most recently used last, so the bound evicts the coldest key.
          entries.delete(digest);
          entries.set(digest, entry);
          return Promise.resolve(entry.principal);
        }
        entries.delete(digest);
      }
      const pending = inflight.get(digest);
      if (pending) return pending.result;
      const startedIn = epoch;
      const result = verify(token).then(
        (principal) => {
          if (inflight.get(digest)?.result === result) inflight.delete(digest);
          if (principal && startedIn === epoch && !isHeld(principal.keyId, now())) store(digest, principal, at);
          return principal;
        },
        (err: unknown) => {
          if (inflight.get(digest)?.result === result) inflight.delete(digest);
          throw err;
        },
      );
      inflight.set(digest, { keyId, result });
      return result;
    },

    forget(keyId, forgetOptions = {}) {
      epoch += 1;
      for (const [digest, entry] of entries) if (entry.keyId === keyId) entries.delete(digest);
      for (const [digest, pending] of inflight) if (pending.keyId === keyId) inflight.delete(digest);
      const holdMs = forgetOptions.holdMs;
      if (holdMs !== undefined && holdMs > 0) held.set(keyId, Math.max(held.get(keyId) ?? 0, now() + holdMs));
    },

    listen(bus) {
      return bus.subscribe((event) => {
        if (event.type === 'api-key-revoked') cache.forget(event.keyId);
      });
    },

    holdRevokedKeys(audit) {
      return (q, use) => {
        if (use.action === 'api-key.revoke' && typeof use.target === 'string')
          cache.forget(use.target, { holdMs: defaultHoldMs });
        return audit(q, use);
      };
    },

    size: () => entries.size,
  };
  return cache;
}
