import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkKeyRing, devKeyRing, openBody, parseChatKeys, sealBody, sealedFromWire, sealedToWire } from './crypto.js';

const room = randomUUID();
const message = randomUUID();

describe('chat body sealing', () => {
  it('seals with the current key and opens with any key of the ring, after a rotation too', () => {
    const k1 = randomBytes(32);
    const before = parseChatKeys(JSON.stringify({ current: 'k1', keys: { k1: k1.toString('base64') } }));
    const sealed = sealBody(before, 'Brake pads are in', room, message);
    expect(sealed.keyId).toBe('k1');
    expect(sealed.ciphertext.includes(Buffer.from('Brake pads'))).toBe(false);
    const after = parseChatKeys(
      JSON.stringify({ current: 'k2', keys: { k1: k1.toString('base64'), k2: randomBytes(32).toString('base64') } }),
    );
    expect(openBody(after, sealed, room, message)).toBe('Brake pads are in');
    expect(sealBody(after, 'new', room, message).keyId).toBe('k2');
    // Through the events' wire form as well.
    expect(openBody(after, sealedFromWire(sealedToWire(sealed)), room, message)).toBe('Brake pads are in');
  });

  it('refuses a body that was altered, moved to another message, or whose key is gone', () => {
    const ring = devKeyRing();
    const sealed = sealBody(ring, 'ok', room, message);
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[0]! ^= 1;
    expect(() => openBody(ring, { ...sealed, ciphertext: flipped }, room, message)).toThrow();
    expect(() => openBody(ring, sealed, room, randomUUID())).toThrow();
    expect(() => openBody(ring, sealed, randomUUID(), message)).toThrow();
    const other = { currentKeyId: 'k9', keys: new Map([['k9', randomBytes(32)]]) };
    expect(() => openBody(other, sealed, room, message)).toThrow(/no key dev/);
  });

  it('explains a key ring it cannot use', () => {
    expect(() => parseChatKeys('nope')).toThrow(/not JSON/);
    expect(() => parseChatKeys('{"current":"a","keys":{}}')).toThrow(/no key a/);
    expect(() => parseChatKeys(JSON.stringify({ current: 'a', keys: { a: 'c2hvcnQ=' } }))).toThrow(/not 32/);
    expect(() => checkKeyRing({ currentKeyId: 'a b', keys: new Map([['a b', randomBytes(32)]]) })).toThrow(/key id/);
  });
});
