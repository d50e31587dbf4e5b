import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateMfaKey, loadOrCreateMfaKey, parseMfaKey } from './crypto.js';

describe('MFA key', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('encrypts so that only the same key and context decrypt, and tampering is detected', () => {
    const key = generateMfaKey();
    const sealed = key.encrypt(Buffer.from('JBSWY3DPEHPK3PXP'), 'totp:user-1');
    expect(sealed.includes(Buffer.from('JBSWY3DPEHPK3PXP'))).toBe(false);
    expect(key.decrypt(sealed, 'totp:user-1').toString()).toBe('JBSWY3DPEHPK3PXP');
    expect(() => key.decrypt(sealed, 'totp:user-2')).toThrow();
    expect(() => generateMfaKey().decrypt(sealed, 'totp:user-1')).toThrow();
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1]! ^= 1;
    expect(() => key.decrypt(flipped, 'totp:user-1')).toThrow();
    // Same plaintext twice: different ciphertexts (fresh IV each time).
    expect(key.encrypt(Buffer.from('x'), 'c').equals(key.encrypt(Buffer.from('x'), 'c'))).toBe(false);
  });

  it('digests codes per purpose and key', () => {
    const key = generateMfaKey();
    expect(key.digest('backup:u', '123456').equals(key.digest('backup:u', '123456'))).toBe(true);
    expect(key.digest('backup:u', '123456').equals(key.digest('backup:v', '123456'))).toBe(false);
    expect(key.digest('backup:u', '123456').equals(generateMfaKey().digest('backup:u', '123456'))).toBe(false);
  });

  it('parses 32 bytes as base64 or hex and refuses anything else', () => {
    const hex = 'ab'.repeat(32);
    const fromHex = parseMfaKey(hex);
    const fromB64 = parseMfaKey(Buffer.from(hex, 'hex').toString('base64'));
    expect(fromHex.digest('p', 'v').equals(fromB64.digest('p', 'v'))).toBe(true);
    for (const bad of ['', 'short', 'ab'.repeat(31), Buffer.alloc(16).toString('base64')]) {
      expect(() => parseMfaKey(bad), bad).toThrow(/32 bytes/);
    }
  });

  it('creates the key file once, owner-only, and reads the same key back', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mfa-key-'));
    dirs.push(dir);
    const file = path.join(dir, 'nested', 'mfa.key');
    const a = loadOrCreateMfaKey(file);
    const b = loadOrCreateMfaKey(file);
    const c = loadOrCreateMfaKey(file);
    const sealed = a.encrypt(Buffer.from('secret'), 'ctx');
    expect(b.decrypt(sealed, 'ctx').toString()).toBe('secret');
    expect(c.decrypt(sealed, 'ctx').toString()).toBe('secret');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });
});
