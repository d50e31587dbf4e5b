import { createHash } from 'node:crypto';

/**
 * The fixed namespace of the ledger's transfer ids (a random uuid chosen once; never change it: every
 * stored transfer id is derived from it, and a retried operation must derive the same id again).
 */
export const TRANSFER_NAMESPACE = '6f1d3c52-8a4e-4b0f-9d27-3c5e1a7b9f40';

function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a uuid: ${uuid}`);
  return Buffer.from(hex, 'hex');
}

/** RFC 9562 uuid v5 (sha-1 of namespace and name, version and variant bits set). */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The ledger's idempotency key for a business operation, e.g. `transferId('capture:' + paymentId + ':1')`:
 * the same name always gives the same id, so a retried operation cannot move money twice.
 */
export function transferId(name: string): string {
  if (name.length === 0) throw new Error('transferId needs a non-empty name');
  return uuidV5(name, TRANSFER_NAMESPACE);
}
