import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema.js';

export type Schema = typeof schema;
/** Either driver: postgres.js against PostgreSQL, or embedded PGlite. Same schema, same queries. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction handle: inside `db.transaction(tx => ...)` use `tx` only (PGlite hangs on the outer db). */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');

export interface DbOptions {
  databaseUrl?: string | undefined;
  pgliteDir?: string;
  /** postgres.js pool size. */
  max?: number;
}

export async function openDatabase(opts: DbOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const client = postgres(opts.databaseUrl, {
      max: opts.max ?? 10,
      onnotice: () => {},
      connect_timeout: 5,
    });
    const db = drizzle(client, { schema }) as unknown as Db;
    return {
      db,
      kind: 'postgres',
      ping: async () => {
        await client`select 1`;
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  const dir = opts.pgliteDir ?? './data/pglite';
  // PGlite does not create the parent of its data folder.
  mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  // PostgreSQL's default 128 MB of shared buffers is most of an idle PGlite's memory (it lives in the
  // WebAssembly heap, inside this process); 32 MB serves one machine's data and keeps `npm start` lean.
  const client = new PGlite(dir, { startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'] });
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    ping: async () => {
      await client.query('select 1');
    },
    close: () => client.close(),
  };
}

/** Runs pending migrations. Not concurrency-safe across processes: run from one (release / npm start). */
export async function migrateDatabase(database: Database): Promise<void> {
  if (database.kind === 'postgres') {
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    await migrate(database.db as never, { migrationsFolder });
  } else {
    const { migrate } = await import('drizzle-orm/pglite/migrator');
    await migrate(database.db as never, { migrationsFolder });
  }
}

/**
 * How many migrations of this release the database lacks (0: migrated). Reads drizzle's own table, as
 * its migrator does: a migration is applied when one at least as recent is recorded.
 */
export async function pendingMigrations(database: Database): Promise<number> {
  const { readMigrationFiles } = await import('drizzle-orm/migrator');
  const { sql } = await import('drizzle-orm');
  const files = readMigrationFiles({ migrationsFolder });
  const rowsOf = (r: unknown): Record<string, unknown>[] => (Array.isArray(r) ? r : ((r as { rows?: Record<string, unknown>[] }).rows ?? []));
  const exists = rowsOf(await database.db.execute(sql`select to_regclass('drizzle.__drizzle_migrations')::text as t`))[0]?.t;
  if (!exists) return files.length;
  const last = rowsOf(await database.db.execute(sql`select max(created_at)::text as last from drizzle.__drizzle_migrations`))[0]?.last;
  const lastMillis = last === null || last === undefined ? -Infinity : Number(last);
  return files.filter((f) => f.folderMillis > lastMillis).length;
}
