import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Secrets at rest. Device secrets (which a person may choose, and which a stolen device may leak)
 * are stored as scrypt hashes with a per-secret salt. API tokens are 256-bit random values we
 * generate, so a SHA-256 digest is enough to store and look them up (no guessing to slow down).
 */

// scrypt cost: N=2^14, r=8, p=1 — the interactive-login parameters of the scrypt paper,
// ~16 MiB and ~30 ms per verification on one core.
const N = 16_384;
const r = 8;
const p = 1;
const KEYLEN = 32;

function scryptAsync(secret: string, salt: Buffer, n: number, rr: number, pp: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEYLEN, { N: n, r: rr, p: pp, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$hash`, salt and hash base64url. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, N, r, p);
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, rr, pp, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(secret, Buffer.from(salt, 'base64url'), Number(n), Number(rr), Number(pp));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * Costs what `verifySecret` costs and always answers false. For a username that does not exist:
 * answering at once would tell an attacker which device ids and account names do (2.6 ms for an
 * unknown id against 52 ms for a known one with a wrong secret).
 */
export async function verifyNothing(secret: string): Promise<false> {
  await scryptAsync(secret, randomBytes(16), N, r, p);
  return false;
}

/** A new random secret: 24 bytes, base64url (32 characters). */
export function generateSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** A new API token. The prefix lets secret scanners recognise a leaked one. */
export function generateToken(): string {
  return `anju_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

// Passwords people choose are guessable, so they get a heavier cost than generated secrets:
// scrypt N=2^15, r=8, p=3 — one of the equivalent settings the OWASP Password Storage Cheat Sheet
// lists for scrypt (minimum N=2^17 r=8 p=1, or N=2^16 p=2, N=2^15 p=3, …: the same CPU work, less
// memory). 32 MiB per concurrent login instead of 128 MiB keeps a small hub out of swap. Same
// `scrypt$N$r$p$salt$hash` form, so `verifySecret` (constant-time compare) checks it and a
// future rise in cost needs no migration: each hash carries its own parameters.
const PASSWORD_N = 32_768;
const PASSWORD_P = 3;

/** A person's password: scrypt N=2^15 r=8 p=3 with a 16-byte per-user salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, PASSWORD_N, r, PASSWORD_P);
  return `scrypt$${PASSWORD_N}$${r}$${PASSWORD_P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Costs what verifying a password costs and answers false: for a login that does not exist. */
export async function verifyNoPassword(password: string): Promise<false> {
  await scryptAsync(password, randomBytes(16), PASSWORD_N, r, PASSWORD_P);
  return false;
}
