import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { appSecrets } from '../db/schema.js';

/**
 * A value the app keeps for itself in `app_secrets`, made once: the first process to need it inserts
 * `make()`, every later one (and every concurrent one) reads what was stored. Secrets are generated
 * here, never derived from configuration that is not secret (docs/security.md, class 3).
 */
export async function storedValue(db: DbOrTx, name: string, make: () => string): Promise<{ value: string; createdAt: Date }> {
  await db.insert(appSecrets).values({ name, value: make() }).onConflictDoNothing({ target: appSecrets.name });
  const [row] = await db.select().from(appSecrets).where(eq(appSecrets.name, name));
  if (!row) throw new Error(`app secret ${name} could not be stored`);
  return { value: row.value, createdAt: row.createdAt };
}

/** 32 random bytes, base64url. */
export const randomSecret = (): string => randomBytes(32).toString('base64url');
