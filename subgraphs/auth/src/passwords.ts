import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing with scrypt (memory-hard, in Node's crypto: no native addon to build).
 * N = 2^15, r = 8, p = 1 uses 32 MiB and about 50–100 ms of one core per hash, the OWASP
 * recommendation. The parameters are stored in each hash, so they can be raised later
 * without invalidating existing ones.
 */
const defaults = { N: 2 ** 15, r: 8, p: 1 };
/** The scrypt parameters of new hashes (for the benchmark and docs). */
export const passwordHashParameters: Readonly<typeof defaults> = Object.freeze({ ...defaults });
const keyLength = 32;
const saltLength = 16;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }) {
  // maxmem must exceed 128·N·r bytes, or Node refuses the parameters.
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, keyLength, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Hashes a password as `scrypt$N$r$p$salt$hash` (base64url parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(saltLength);
  const key = await derive(password, salt, defaults);
  const { N, r, p } = defaults;
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Checks a password against a stored hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, N, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !N || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(password, Buffer.from(salt, 'base64url'), {
    N: Number(N),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * A hash of a random password, checked when the account does not exist, so an unknown
 * user costs the same time as a wrong password and cannot be told apart by timing.
 */
export const decoyHash = hashPassword(randomBytes(32).toString('base64url'));
