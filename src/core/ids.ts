import { randomUUID } from 'node:crypto';

/**
 * Time-ordered opaque ids (UUIDv7 layout): sorting by id sorts by creation time,
 * which keyset pagination relies on. The random bits come from randomUUID (v4), which draws from a
 * cached entropy pool: a fresh randomBytes(16) per id showed in the fan-out profile.
 */
export function newId(now: number = Date.now()): string {
  const r = randomUUID();
  const t = now.toString(16).padStart(12, '0').slice(-12);
  // v4 layout xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx: keep its random bits and variant, set version 7.
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${r.slice(15, 18)}-${r.slice(19)}`;
}
