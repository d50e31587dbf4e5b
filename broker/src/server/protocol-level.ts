/**
 * Protocol level of the first packet on a connection, read from raw bytes before the MQTT parser
 * sees them. mqtt-packet drops a CONNECT whose level it cannot parse (anything but 3, 4 and 5) with
 * a parse error and aedes then closes the socket silently, but [MQTT-3.1.2-2] requires CONNACK
 * 0x01 (unacceptable protocol level) before disconnecting. The broker speaks 3.1 (level 3), 3.1.1
 * (level 4) and 5 (level 5; a refused v5 CONNECT gets a v5 reason code from aedes), so every other
 * level is answered here with the 3.1.1 CONNACK 0x01, which is what a client of an unknown level
 * can be expected to read ([MQTT-3.1.2-2]; MQTT 5 §3.1.2.2 allows the same answer).
 */
export type FirstPacketVerdict = 'need-more' | 'pass' | 'unsupported-protocol-level';

/** CONNACK, remaining length 2, no session present, return code 0x01. [MQTT-3.2.2-4] [MQTT-3.2.2-5] */
export const CONNACK_UNACCEPTABLE_PROTOCOL_LEVEL: Readonly<Buffer> = Buffer.from([0x20, 0x02, 0x00, 0x01]);

const SUPPORTED_LEVELS = new Set([3, 4, 5]);
const PROTOCOL_NAMES = new Set(['MQTT', 'MQIsdp']);

/**
 * Looks at the bytes received so far (at most 14 are ever needed). Anything that is not a
 * well-formed start of a CONNECT passes through: the parser and aedes refuse it ([MQTT-3.1.0-1]).
 */
export function inspectFirstPacket(head: Buffer): FirstPacketVerdict {
  if (head.length === 0) return 'need-more';
  if (head[0]! >> 4 !== 1) return 'pass'; // not a CONNECT
  // [MQTT-2.2.3] Remaining Length: variable byte integer, at most 4 bytes.
  let i = 1;
  let length = 0;
  let multiplier = 1;
  for (;;) {
    if (i >= head.length) return 'need-more';
    const byte = head[i++]!;
    length += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) break;
    if (i === 5) return 'pass'; // malformed: the packet-size meter ends the connection
  }
  const end = i + length;
  // [MQTT-3.1.2-1] Protocol Name: a 2-byte length then "MQTT" (3.1.1) or "MQIsdp" (3.1).
  if (end < i + 2) return 'pass';
  if (head.length < i + 2) return 'need-more';
  const nameLength = head.readUInt16BE(i);
  const levelAt = i + 2 + nameLength;
  if ((nameLength !== 4 && nameLength !== 6) || levelAt >= end) return 'pass';
  if (head.length <= levelAt) return 'need-more';
  if (!PROTOCOL_NAMES.has(head.toString('latin1', i + 2, levelAt))) return 'pass';
  // The top bit is the bridge flag some brokers set (mqtt-packet strips it too).
  return SUPPORTED_LEVELS.has(head[levelAt]! & 0x7f) ? 'pass' : 'unsupported-protocol-level';
}
