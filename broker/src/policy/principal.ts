import type { ApiKeyScope } from '@clutch/identity';

/** Who is on the other end of an MQTT connection, decided once at CONNECT. */
export type Principal =
  | { kind: 'device'; tenantId: string; deviceId: string }
  /** `expiresAt`: the broker closes the session at that instant (null or absent: no expiry). */
  | {
      kind: 'partner';
      tenantId: string;
      keyId: string;
      scopes: readonly ApiKeyScope[];
      expiresAt?: Date | null | undefined;
    }
  /**
   * A signed-in person (owner, technician, fleet manager, ...) with their access token: what they may
   * read and send is their roles' (the policy store), per vehicle. `expiresAt`: the access token's
   * expiry, when the broker closes the session (the client reconnects with a fresh token).
   */
  | { kind: 'user'; tenantId: string; userId: string; sessionId: string; expiresAt: Date }
  | { kind: 'admin' }
  /** Only with --allow-anonymous (local tools, conformance suites): everything but $SYS. */
  | { kind: 'anonymous' };

export function describePrincipal(p: Principal): string {
  switch (p.kind) {
    case 'device':
      return `device ${p.tenantId}/${p.deviceId}`;
    case 'partner':
      return `partner key ${p.keyId} of ${p.tenantId}`;
    case 'user':
      return `user ${p.userId} of ${p.tenantId} (session ${p.sessionId})`;
    case 'admin':
      return 'admin';
    case 'anonymous':
      return 'anonymous';
  }
}

/**
 * The client ids a principal may use. Each principal gets its own namespace so that nobody can take
 * over another's session by connecting with its client id ([MQTT-3.1.4-2] a new CONNECT with an
 * existing client id disconnects the old one).
 */
export function clientIdAllowed(p: Principal, clientId: string): boolean {
  switch (p.kind) {
    case 'device': {
      const own = `${p.tenantId}/${p.deviceId}`;
      return clientId === own || clientId.startsWith(`${own}/`);
    }
    case 'partner':
      return clientId.startsWith(`${p.tenantId}/key-${p.keyId}`);
    case 'user':
      return clientId.startsWith(`${p.tenantId}/user-${p.userId}`);
    case 'admin':
    case 'anonymous':
      return !/^[A-Za-z0-9_-]{1,64}\/[A-Za-z0-9_-]/.test(clientId) || clientId.startsWith('admin');
  }
}
