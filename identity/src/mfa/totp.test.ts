import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { acceptTotp, newTotpSecret, qrSvg, totpUri } from './totp.js';

// RFC 6238 appendix B: the SHA-1 seed "12345678901234567890" (base32 below), 8-digit codes; a
// 6-digit code is the last six digits of the same truncated value.
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const RFC_VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

/** RFC 4226/6238 written out from the RFC with node:crypto: an implementation independent of otplib. */
function referenceTotp(base32: string, epochSeconds: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(epochSeconds / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

const at = (seconds: number): Date => new Date(seconds * 1000);

describe('TOTP', () => {
  it('accepts the RFC 6238 test vectors (6-digit form) and agrees with an independent implementation', async () => {
    for (const [time, eight] of RFC_VECTORS) {
      expect(referenceTotp(RFC_SECRET, time)).toBe(eight.slice(2));
      expect(await acceptTotp(RFC_SECRET, eight.slice(2), null, at(time)), String(time)).toBe(Math.floor(time / 30));
    }
  });

  it('accepts a code one step early or late, not two', async () => {
    const secret = newTotpSecret();
    const now = 1_700_000_000;
    for (const [offset, ok] of [
      [-60, false],
      [-30, true],
      [0, true],
      [30, true],
      [60, false],
    ] as const) {
      const code = referenceTotp(secret, now + offset);
      const step = await acceptTotp(secret, code, null, at(now));
      expect(step !== null, `offset ${offset}`).toBe(ok);
    }
  });

  it('never accepts the step it accepted last, nor an earlier one', async () => {
    const secret = newTotpSecret();
    const now = 1_700_000_010;
    const code = referenceTotp(secret, now);
    const step = await acceptTotp(secret, code, null, at(now));
    expect(step).toBe(Math.floor(now / 30));
    expect(await acceptTotp(secret, code, step, at(now))).toBeNull();
    expect(await acceptTotp(secret, referenceTotp(secret, now - 30), step, at(now))).toBeNull();
    expect(await acceptTotp(secret, referenceTotp(secret, now + 30), step, at(now))).toBe(step! + 1);
  });

  it('refuses malformed codes without throwing', async () => {
    const secret = newTotpSecret();
    for (const code of ['', '12345', '1234567', 'abcdef', ' 123456', '12 345']) {
      expect(await acceptTotp(secret, code, null)).toBeNull();
    }
  });

  it('makes a 160-bit base32 secret, an otpauth URI apps read, and an SVG QR code', async () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = totpUri({ issuer: 'Clutch', account: 'ana@example.com', secret });
    const parsed = new URL(uri);
    expect(parsed.protocol).toBe('otpauth:');
    expect(parsed.host).toBe('totp');
    expect(decodeURIComponent(parsed.pathname)).toBe('/Clutch:ana@example.com');
    expect(parsed.searchParams.get('secret')).toBe(secret);
    expect(parsed.searchParams.get('issuer')).toBe('Clutch');
    const svg = await qrSvg(uri);
    expect(svg).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('<path');
  });
});
