import type { AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';

/**
 * Broker policy as plain functions (the shape aedes takes as options), so each rule can be tested
 * without a socket. Every refusal carries a reason that the broker logs with the client id.
 */
export interface BrokerPolicy {
  authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<AuthDecision>;
  authorizePublish(client: Client | null, packet: PublishPacket): Promise<Decision>;
  authorizeSubscribe(client: Client, subscription: Subscription): Promise<Decision>;
}

export type Decision = { ok: true } | { ok: false; reason: string };
export type AuthDecision = Decision | { ok: false; reason: string; returnCode: AuthenticateError['returnCode'] };

const allow: Decision = { ok: true };

/**
 * Development policy for `npm start` and local tools: anyone may connect, nobody may publish into
 * `$SYS`. Device identity and tenant ACLs replace this in production (issue: broker).
 */
export function developmentPolicy(): BrokerPolicy {
  return {
    async authenticate() {
      return allow;
    },
    async authorizePublish(_client, packet) {
      // [MQTT-4.7.2-1] topics starting with $ are reserved for the server.
      if (packet.topic.startsWith('$')) return { ok: false, reason: `publishing to ${packet.topic} is reserved for the broker` };
      return allow;
    },
    async authorizeSubscribe() {
      return allow;
    },
  };
}
