import { isUtf8 } from 'node:buffer';
import type { Client, PublishPacket } from 'aedes';

/** MQTT 5 reason codes the broker's own checks send (§2.4). */
export const REASON = {
  SERVER_BUSY: 0x89,
  MESSAGE_RATE_TOO_HIGH: 0x96,
  PAYLOAD_FORMAT_INVALID: 0x99,
} as const;

/** A refusal aedes answers with this reason code on the PUBACK/PUBREC of an MQTT 5 client. */
export function refusal(reason: string, reasonCode?: number): Error & { reasonCode?: number } {
  return Object.assign(new Error(reason), reasonCode === undefined ? {} : { reasonCode });
}

export const isMqtt5 = (client: Client | null): client is Client => client?.version === 5;

/**
 * [MQTT-3.3.2-4] A PUBLISH that says its payload is UTF-8 (Payload Format Indicator 1) must be; the
 * broker checks, as §3.3.2.3.2 allows, so no subscriber is handed text that is not.
 */
export function payloadFormatInvalid(packet: PublishPacket): boolean {
  const indicator = packet.properties?.payloadFormatIndicator as boolean | number | undefined;
  if (indicator !== true && indicator !== 1) return false;
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  return !isUtf8(payload);
}

/**
 * Ends an MQTT 5 connection with a reason code ([MQTT-3.14.2-1]); `then` runs once it is closed (a
 * PUBACK aedes would still write afterwards goes nowhere). A 3.1.1 client is simply closed.
 */
export function disconnectWith(client: Client, reasonCode: number, then: () => void): void {
  client.disconnect({ reasonCode }, then);
}
