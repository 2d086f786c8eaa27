import type { Query, SQL } from 'drizzle-orm';
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

/** A prepared raw statement: `execute` fills the placeholders and answers what the driver answers (rows, or PGlite's `{ rows }`). */
export interface PreparedSql {
  execute(values: Record<string, unknown>): Promise<unknown>;
}

/**
 * A raw statement (a `sql` template with `sql.placeholder`s, such as a data-modifying CTE that no query
 * builder expresses) prepared once per database handle. `db.execute` would turn the template into SQL
 * text on every call; this goes through the same session method `db.execute` uses, once.
 */
export function preparedSql(name: string, build: (db: Db) => SQL): (db: Db) => PreparedSql {
  return preparedFor((db) => {
    const { dialect, session } = db as unknown as {
      dialect: { sqlToQuery(s: SQL): Query };
      session: { prepareQuery(query: Query, fields: undefined, name: string, arrayMode: boolean): PreparedSql };
    };
    return session.prepareQuery(dialect.sqlToQuery(build(db)), undefined, name, false);
  });
}
