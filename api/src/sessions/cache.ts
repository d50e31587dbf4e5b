/** What the authenticator needs to know about a session besides the access token's claims. */
export interface SessionStatus {
  live: boolean;
  /** The session's last MFA check (a step-up after the token was issued shows here). */
  mfaAt: Date | null;
}

/**
 * A short memory of session checks, so that a signed-in user's requests do not each read the
 * session row. Entries are dropped when the session is revoked (by this process at once, by others
 * through the `session-revoked` bus event) and expire after `ttlMs` in any case, which bounds how
 * long a missed event could matter.
 */
export class SessionCache {
  private readonly entries = new Map<string, { status: SessionStatus; until: number }>();

  constructor(
    private readonly ttlMs = 5_000,
    private readonly maxEntries = 50_000,
  ) {}

  get(sessionId: string): SessionStatus | undefined {
    const entry = this.entries.get(sessionId);
    if (!entry) return undefined;
    if (entry.until <= Date.now()) {
      this.entries.delete(sessionId);
      return undefined;
    }
    return entry.status;
  }

  set(sessionId: string, status: SessionStatus): void {
    if (this.entries.size >= this.maxEntries) {
      // Oldest first (Map keeps insertion order): a bounded cache, never a memory leak.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(sessionId, { status, until: Date.now() + this.ttlMs });
  }

  forget(sessionId: string): void {
    this.entries.delete(sessionId);
  }
}
