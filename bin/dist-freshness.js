// Is dist/ built from the src/ that is here? `npm start` and the `twitterprise` command build first when
// it is missing or older than src/ (a fresh clone, an edited file); a deploy builds once (npm run build).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');
const STAMP = path.join(DIST, '.build-stamp');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Why dist/ must be built again, or null when it is up to date (or there is no src/ to build from). */
export function staleReason() {
  const src = path.join(ROOT, 'src');
  if (!existsSync(src)) return null;
  if (!existsSync(path.join(DIST, 'main.js')) || !existsSync(STAMP)) return 'dist/ is missing';
  const built = statSync(STAMP).mtimeMs;
  const sources = Math.max(newestMtime(src), statSync(path.join(ROOT, 'tsconfig.build.json')).mtimeMs);
  return sources > built ? 'dist/ is older than src/' : null;
}

/** Runs tsc; 0 when dist/ was built without errors. */
export function buildDist({ quiet }) {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    process.stderr.write('dist/ needs building and TypeScript is not installed here (a production install leaves it out): run npm ci, then npm run build.\n');
    return 1;
  }
  const startedAt = Date.now();
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: quiet ? ['ignore', 'pipe', 'inherit'] : 'inherit' });
  if (r.status !== 0) {
    if (quiet && r.stdout) process.stderr.write(r.stdout);
    process.stderr.write(`The build of dist/ failed (tsc exit ${r.status ?? r.signal}); see above.\n`);
    return 1;
  }
  // The stamp's time is the start of the build: a file edited while tsc ran counts as newer.
  const t = new Date(startedAt);
  writeFileSync(STAMP, `${t.toISOString()}\n`);
  utimesSync(STAMP, t, t);
  return 0;
}

/** Builds when dist/ is missing or stale (unless TWITTERPRISE_NO_BUILD=1); false (after saying why) when that failed. */
export function ensureBuilt() {
  const reason = staleReason();
  if (!reason) return true;
  // TWITTERPRISE_NO_BUILD=1: run dist/ as it is (it must exist), e.g. a test that built it a moment ago
  // while others keep editing src/.
  if (process.env.TWITTERPRISE_NO_BUILD === '1' && existsSync(path.join(DIST, 'main.js'))) return true;
  process.stderr.write(`${reason}: building it (npm run build)...\n`);
  return buildDist({ quiet: true }) === 0;
}
