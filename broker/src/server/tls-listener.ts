import { createServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { ClientCertificate } from '../policy/policy.js';

export interface TlsListenerOptions {
  /** MQTT over TLS (8883 by convention); 0 picks a free port. */
  port: number;
  key: string | Buffer;
  cert: string | Buffer;
  /** CA that signs device certificates; needed to accept client certificates. */
  ca?: string | Buffer;
  /**
   * Ask clients for a certificate (default: when `ca` is set). A certificate that is presented must
   * chain to `ca`, or the connection is closed before any MQTT is read; a client without one still
   * logs in with username and password.
   */
  requestClientCert?: boolean;
}

export type PeerCheck = { ok: true; certificate?: ClientCertificate } | { ok: false; reason: string };

/**
 * What the client proved in the handshake. Node cannot make a certificate optional yet verified in
 * OpenSSL (rejectUnauthorized refuses clients without one), so the verification result is read
 * here, as Node itself does for rejectUnauthorized, right after the handshake.
 */
export function checkPeer(socket: TLSSocket): PeerCheck {
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return { ok: true };
  if (!socket.authorized)
    return { ok: false, reason: `client certificate refused: ${String(socket.authorizationError)}` };
  const cn: unknown = peer.subject?.CN;
  // A verified certificate without exactly one CN names nobody: the client logs in with a password.
  if (typeof cn !== 'string') return { ok: true };
  return { ok: true, certificate: { subjectCommonName: cn, fingerprint256: peer.fingerprint256 } };
}

/**
 * The TLS listener. `onConnection` gets each socket whose handshake succeeded (and whose
 * certificate, if any, was verified); `onRefused` reports the others.
 */
export function createTlsListener(
  options: TlsListenerOptions & { handshakeTimeoutMs: number },
  onConnection: (socket: TLSSocket, certificate: ClientCertificate | undefined) => void,
  onRefused: (remote: string | undefined, reason: string) => void,
): TlsServer {
  const requestCert = options.requestClientCert ?? options.ca !== undefined;
  if (requestCert && options.ca === undefined)
    throw new Error('tls.requestClientCert needs tls.ca to verify client certificates');
  const server = createServer(
    {
      key: options.key,
      cert: options.cert,
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      requestCert,
      rejectUnauthorized: false,
      handshakeTimeout: options.handshakeTimeoutMs,
    },
    (socket) => {
      const peer: PeerCheck = requestCert ? checkPeer(socket) : { ok: true };
      if (!peer.ok) {
        onRefused(socket.remoteAddress, peer.reason);
        socket.destroy();
        return;
      }
      onConnection(socket, peer.certificate);
    },
  );
  server.on('tlsClientError', (err, socket) => onRefused(socket.remoteAddress, `tls handshake failed: ${err.message}`));
  return server;
}
