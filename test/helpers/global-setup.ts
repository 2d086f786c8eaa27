import postgres from 'postgres';
import { Redis } from 'ioredis';

/** Fails fast, with a clear sentence, when the machine's PostgreSQL or Redis is not up. */
export default async function setup(): Promise<void> {
  const sql = postgres(process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test', { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable for the tests: ${(err as Error).message}`);
  } finally {
    await sql.end();
  }
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis is not reachable for the tests: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
}
