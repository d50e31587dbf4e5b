import type { AuthenticateError, Client } from 'aedes';
import type { Decision } from '../policy/policy.js';

/** A CONNECT refused before its credentials are looked at, with the CONNACK return code to send. */
export interface ConnectRefusal {
  returnCode: AuthenticateError['returnCode'];
  reason: string;
}

export interface ConnectGate {
  /** aedes `preConnect`: takes a connect token for this connection. */
  admit(client: Client): void;
  /** Checked first in `authenticate`: why this CONNECT is refused, if it is. */
  refusal(client: Client): ConnectRefusal | undefined;
}

const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;

/**
 * Connect-storm admission and client id length, decided before any credential lookup.
 *
 * A refusal in aedes' `preConnect` only drops the socket, without a CONNACK, and a client seeing a
 * dropped connection retries at once. So the decision is taken in `preConnect` and answered from
 * `authenticate` (which aedes follows with the CONNACK and a close, [MQTT-3.2.2-5]): return code 3,
 * server unavailable, tells a well-behaved client to back off. No database is touched for it.
 */
export function createConnectGate(options: {
  admitConnection: (client: Client) => Decision;
  maxClientIdLength: number;
}): ConnectGate {
  const refused = new WeakMap<Client, ConnectRefusal>();
  return {
    admit(client) {
      // The client's own source bucket, then the broker-wide one (see BrokerPolicy.admitConnection).
      const decision = options.admitConnection(client);
      if (!decision.ok) refused.set(client, { returnCode: SERVER_UNAVAILABLE, reason: decision.reason });
    },
    refusal(client) {
      const early = refused.get(client);
      if (early) return early;
      // [MQTT-3.1.3-5] a server may accept client ids longer than 23 bytes; ours are `{tenant}/{device}`.
      // aedes 1.2 only checks the length for MQTT 3.1, so 3.1.1 is checked here. [MQTT-3.1.3-9]
      const bytes = Buffer.byteLength(client.id, 'utf8');
      if (bytes > options.maxClientIdLength) {
        return {
          returnCode: IDENTIFIER_REJECTED,
          reason: `client id of ${bytes} bytes exceeds ${options.maxClientIdLength}`,
        };
      }
      return undefined;
    },
  };
}
