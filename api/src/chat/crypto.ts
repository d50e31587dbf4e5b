import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SealedChatBody } from '@clutch/contracts';

/**
 * The keys chat bodies are sealed with: new messages use `currentKeyId`; older ids stay so messages
 * sealed before a rotation still open. Keys are 32 bytes (AES-256).
 */
export interface ChatKeyRing {
  currentKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

/** A sealed body as stored (chat_messages.ciphertext/nonce/key_id); the ciphertext ends with the GCM tag. */
export interface SealedBody {
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Refuses a ring that could not seal or open: unknown current key, wrong key length, odd ids. */
export function checkKeyRing(ring: ChatKeyRing): ChatKeyRing {
  if (!ring.keys.has(ring.currentKeyId)) throw new Error(`chat key ring: no key ${ring.currentKeyId}`);
  for (const [id, key] of ring.keys) {
    if (!KEY_ID.test(id)) throw new Error(`chat key ring: key id ${JSON.stringify(id)} is not [A-Za-z0-9._-]{1,64}`);
    if (key.length !== 32) throw new Error(`chat key ring: key ${id} is ${key.length} bytes, not 32`);
  }
  return ring;
}

/**
 * Parses `CLUTCH_CHAT_KEYS`: `{"current":"k2","keys":{"k1":"<base64 32 bytes>","k2":"..."}}`.
 * Throws with a readable reason on anything else.
 */
export function parseChatKeys(text: string): ChatKeyRing {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('chat keys: not JSON ({"current":"<id>","keys":{"<id>":"<base64 32 bytes>"}})');
  }
  const value = raw as { current?: unknown; keys?: unknown };
  if (typeof value?.current !== 'string' || typeof value.keys !== 'object' || value.keys === null)
    throw new Error('chat keys: expected {"current":"<id>","keys":{"<id>":"<base64 32 bytes>"}}');
  const keys = new Map<string, Buffer>();
  for (const [id, encoded] of Object.entries(value.keys as Record<string, unknown>)) {
    if (typeof encoded !== 'string') throw new Error(`chat keys: key ${id} is not a base64 string`);
    keys.set(id, Buffer.from(encoded, 'base64'));
  }
  return checkKeyRing({ currentKeyId: value.current, keys });
}

/**
 * The development ring: one key derived from a fixed phrase, so `npm start` and tests work with no
 * configuration. Anyone can derive it: the platform passes a real ring (CLUTCH_CHAT_KEYS) outside dev.
 */
export function devKeyRing(): ChatKeyRing {
  return {
    currentKeyId: 'dev',
    keys: new Map([['dev', createHash('sha256').update('clutch development chat key (not secret)').digest()]]),
  };
}

/** What a body is bound to: a sealed body copied onto another message (or room) does not open. */
const associated = (roomId: string, messageId: string): Buffer => Buffer.from(`chat:${roomId}:${messageId}`);

export function sealBody(ring: ChatKeyRing, body: string, roomId: string, messageId: string): SealedBody {
  const key = ring.keys.get(ring.currentKeyId);
  if (!key) throw new Error(`chat key ring: no key ${ring.currentKeyId}`);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(associated(roomId, messageId));
  const ciphertext = Buffer.concat([cipher.update(body, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { keyId: ring.currentKeyId, nonce, ciphertext };
}

/** The body; throws when the key is unknown or the ciphertext was altered (GCM authentication). */
export function openBody(ring: ChatKeyRing, sealed: SealedBody, roomId: string, messageId: string): string {
  const key = ring.keys.get(sealed.keyId);
  if (!key) throw new Error(`chat key ring: no key ${sealed.keyId} (message ${messageId})`);
  if (sealed.ciphertext.length < TAG_BYTES) throw new Error(`chat message ${messageId}: ciphertext too short`);
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.nonce);
  decipher.setAAD(associated(roomId, messageId));
  decipher.setAuthTag(sealed.ciphertext.subarray(sealed.ciphertext.length - TAG_BYTES));
  return Buffer.concat([
    decipher.update(sealed.ciphertext.subarray(0, sealed.ciphertext.length - TAG_BYTES)),
    decipher.final(),
  ]).toString('utf8');
}

/** The sealed body as events carry it (base64, JSON-safe). */
export const sealedToWire = (s: SealedBody): SealedChatBody => ({
  keyId: s.keyId,
  nonce: s.nonce.toString('base64'),
  ciphertext: s.ciphertext.toString('base64'),
});

export const sealedFromWire = (s: SealedChatBody): SealedBody => ({
  keyId: s.keyId,
  nonce: Buffer.from(s.nonce, 'base64'),
  ciphertext: Buffer.from(s.ciphertext, 'base64'),
});
