import { Algorithm, hash, verify } from '@node-rs/argon2';

/**
 * argon2id with OWASP's first recommended setting (Password Storage Cheat Sheet): 19 MiB of
 * memory, 2 passes, 1 lane. Stored as a PHC string, which carries its own parameters, so raising
 * them later leaves old hashes verifiable (and `needsRehash` says when to upgrade one).
 */
export const ARGON2_PARAMS = {
  algorithm: Algorithm.Argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password.normalize('NFKC'), ARGON2_PARAMS);
}

/** False for a wrong password and for a hash that is not a valid PHC string. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password.normalize('NFKC'));
  } catch {
    return false;
  }
}

/** True when the stored hash used weaker parameters than today's (rehash it after a successful sign-in). */
export function needsRehash(phc: string): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
  if (!m) return true;
  return (
    Number(m[1]) < ARGON2_PARAMS.memoryCost ||
    Number(m[2]) < ARGON2_PARAMS.timeCost ||
    Number(m[3]) !== ARGON2_PARAMS.parallelism
  );
}

let dummy: Promise<string> | undefined;

/**
 * Spends the time of one verification when there is no account to check (unknown address, invited
 * user without a password), so a failed sign-in takes about as long whether or not the address
 * exists.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummy ??= hashPassword('clutch dummy password for timing');
  await verifyPassword(await dummy, password);
  return false;
}
