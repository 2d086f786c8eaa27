import { randomUUID } from 'node:crypto';

/** The first 48 bits of an id: its creation time in milliseconds, as 12 hex digits. */
const timeHex = (ms: number) => ms.toString(16).padStart(12, '0').slice(-12);

/**
 * Time-ordered opaque ids (UUIDv7 layout): sorting by id sorts by creation time,
 * which keyset pagination relies on. The random bits come from randomUUID (v4), which draws from a
 * cached entropy pool: a fresh randomBytes(16) per id showed in the fan-out profile.
 */
export function newId(now: number = Date.now()): string {
  const r = randomUUID();
  const t = timeHex(now);
  // v4 layout xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx: keep its random bits and variant, set version 7.
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${r.slice(15, 18)}-${r.slice(19)}`;
}

/**
 * The smallest id of millisecond `ms`: every id made earlier sorts below it, every id made then or later
 * above, so a range of the primary key is a range of creation times (housekeeping deletes by it).
 */
export function firstIdAt(ms: number): string {
  const t = timeHex(ms);
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-0000-0000-000000000000`;
}
