import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JWK } from 'jose';

/** The signature algorithm of every token the platform issues: Ed25519 (small, fast, no parameters to get wrong). */
export const TOKEN_ALG = 'EdDSA';

/**
 * The keys tokens are signed and checked with. The first key signs; every key (the current one and
 * retired ones kept for one access-token lifetime after a rotation) verifies. Public halves are
 * published as a JWK Set so other services can check access tokens without calling the API.
 */
export interface SigningKeys {
  /** Key id (RFC 7638 thumbprint) of the signing key. */
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** Verification keys by key id. */
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
  /** The public JWK Set (RFC 7517), for `GET /api/.well-known/jwks.json`. */
  readonly jwks: { keys: JWK[] };
}

/** RFC 7638 thumbprint of an Ed25519 key: SHA-256 of its required members in lexical order. */
function thumbprint(x: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x }))
    .digest('base64url');
}

/** A new private JWK (Ed25519), with its thumbprint as `kid`. */
export function newPrivateJwk(): JWK {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: thumbprint(jwk.x!), alg: TOKEN_ALG, use: 'sig' };
}

/** Signing keys from private JWKs; the first signs. Throws on anything that is not an Ed25519 private key. */
export function signingKeysFrom(privateJwks: readonly JWK[]): SigningKeys {
  if (privateJwks.length === 0) throw new Error('signing keys: at least one key is needed');
  const publicKeys = new Map<string, KeyObject>();
  const published: JWK[] = [];
  let signer: { kid: string; key: KeyObject } | undefined;
  for (const jwk of privateJwks) {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string' || typeof jwk.x !== 'string')
      throw new Error('signing keys: every key must be an Ed25519 private JWK (kty OKP, crv Ed25519, x, d)');
    const kid = jwk.kid ?? thumbprint(jwk.x);
    const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' });
    publicKeys.set(kid, createPublicKey(privateKey));
    published.push({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid, alg: TOKEN_ALG, use: 'sig' });
    signer ??= { kid, key: privateKey };
  }
  return { kid: signer!.kid, privateKey: signer!.key, publicKeys, jwks: { keys: published } };
}

/** Fresh keys that live as long as the process (tests, benchmarks). */
export function generateSigningKeys(): SigningKeys {
  return signingKeysFrom([newPrivateJwk()]);
}

/** Parses `{ "keys": [<private JWK>, ...] }` (the file format, and the `CLUTCH_SIGNING_KEYS` setting). */
export function parseKeySet(text: string): JWK[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('signing keys: not JSON; expected {"keys": [<Ed25519 private JWK>, ...]}');
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('signing keys: expected {"keys": [<Ed25519 private JWK>, ...]}');
  return keys as JWK[];
}

/**
 * The deployment's keys from a file, created on first use (`npm start` keeps them under `./data`, so
 * sessions survive a restart and every data directory has its own keys). Written owner-only.
 */
export function loadOrCreateSigningKeys(file: string): SigningKeys {
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) return signingKeysFrom(parseKeySet(text));
  const jwk = newPrivateJwk();
  mkdirSync(path.dirname(file), { recursive: true });
  // Written aside and renamed: a crash never leaves half a key file for the next start to choke on.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ keys: [jwk] }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
  return signingKeysFrom([jwk]);
}
