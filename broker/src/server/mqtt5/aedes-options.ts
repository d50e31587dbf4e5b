import type { AedesOptions } from 'aedes';

/** What the broker offers MQTT 5 clients in its CONNACK (see docs/broker.md, "MQTT 5"). */
export interface Mqtt5Limits {
  /** Topic aliases a client may use towards the broker, and the most the broker uses towards a client. */
  topicAliasMaximum: number;
  /** QoS 1/2 PUBLISH a client may have unacknowledged; one more gets DISCONNECT 0x93. */
  receiveMaximum: number;
  /** A v5 client asking for no keep alive, or a longer one, is given this (Server Keep Alive), in seconds. */
  serverKeepAliveSeconds: number;
  /** PUBLISH held for a client beyond its own Receive Maximum before further ones are dropped. */
  heldPerClient: number;
}

export const DEFAULT_MQTT5_LIMITS: Mqtt5Limits = {
  topicAliasMaximum: 64,
  receiveMaximum: 100,
  serverKeepAliveSeconds: 300,
  heldPerClient: 1000,
};

/** [MQTT-2.2.3] bytes of a Remaining Length field. */
function lengthFieldBytes(remaining: number): number {
  return remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
}

/**
 * The MQTT 5 options of aedes (several added by scripts/patches/aedes-2.0.0-beta.1-b1-mqtt5.patch).
 * `maxPacketBytes` is the broker's limit on a packet's remaining length; MQTT 5's Maximum Packet Size
 * counts the whole packet, so the advertised value adds the fixed header.
 */
export function mqtt5AedesOptions(options: {
  maxPacketBytes: number;
  limits?: Partial<Mqtt5Limits> | undefined;
}): Partial<AedesOptions> {
  const limits = { ...DEFAULT_MQTT5_LIMITS, ...options.limits };
  return {
    topicAliasMaximum: limits.topicAliasMaximum,
    topicAliasMaximumOut: limits.topicAliasMaximum,
    receiveMaximum: limits.receiveMaximum,
    outgoingHeldLimit: limits.heldPerClient,
    maximumPacketSize: 1 + lengthFieldBytes(options.maxPacketBytes) + options.maxPacketBytes,
    keepaliveLimit: limits.serverKeepAliveSeconds,
    // 3.1.1 has no way to impose a keep alive: its clients keep theirs.
    keepaliveLimitV5Only: true,
    // Clustered brokers offer them too: cluster-shared/ picks one member per message across brokers.
    sharedSubscriptions: true,
  };
}
