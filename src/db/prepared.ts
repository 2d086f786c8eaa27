import type { Db } from './client.js';

/**
 * A statement prepared once per database handle, on first use: `const q = preparedFor(db => db.select()
 * ... .prepare('name'))`, then `q(db).execute({...})`. Building a query with drizzle on every job showed
 * in the worker's profile; a prepared one is built once and planned once by PostgreSQL.
 */
export function preparedFor<Q>(build: (db: Db) => Q): (db: Db) => Q {
  const cache = new WeakMap<Db, Q>();
  return (db) => {
    let q = cache.get(db);
    if (!q) cache.set(db, (q = build(db)));
    return q;
  };
}
