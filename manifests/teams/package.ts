/**
 * Builds the Teams app package: manifest.json + color.png + outline.png at the root of one zip,
 * which is what Teams admin center / "Upload a custom app" accept.
 *
 *   MICROSOFT_APP_ID=<bot app id> npm run teams:package [-- --out path/to/app.zip]
 *
 * MICROSOFT_APP_ID (the Azure bot's app id) replaces the all-zero placeholder in `bots[0].botId` and
 * `webApplicationInfo.id`; TEAMS_APP_ID, when set, replaces the app's own `id`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createZip } from './zip.js';

export const BOT_ID_PLACEHOLDER = '00000000-0000-0000-0000-000000000000';
const GUID_RE = /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
const here = dirname(fileURLToPath(import.meta.url));

interface Manifest {
  id: string;
  bots: { botId: string }[];
  webApplicationInfo?: { id: string };
  [k: string]: unknown;
}

export interface PackageOptions {
  botAppId?: string;
  teamsAppId?: string;
}

/** The manifest with the ids filled in; throws with a sentence when an id is not a GUID. */
export function fillManifest(template: Manifest, opts: PackageOptions): Manifest {
  const m = structuredClone(template);
  if (opts.botAppId !== undefined) {
    if (!GUID_RE.test(opts.botAppId)) throw new Error(`MICROSOFT_APP_ID must be a GUID (the Azure bot's app id), got "${opts.botAppId}"`);
    for (const bot of m.bots) bot.botId = opts.botAppId;
    if (m.webApplicationInfo) m.webApplicationInfo.id = opts.botAppId;
  }
  if (opts.teamsAppId !== undefined) {
    if (!GUID_RE.test(opts.teamsAppId)) throw new Error(`TEAMS_APP_ID must be a GUID, got "${opts.teamsAppId}"`);
    m.id = opts.teamsAppId;
  }
  return m;
}

export function buildPackage(opts: PackageOptions): Buffer {
  const manifest = fillManifest(JSON.parse(readFileSync(join(here, 'manifest.json'), 'utf8')) as Manifest, opts);
  return createZip([
    { name: 'manifest.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8') },
    { name: 'color.png', data: readFileSync(join(here, 'color.png')) },
    { name: 'outline.png', data: readFileSync(join(here, 'outline.png')) },
  ]);
}

function main(argv: string[]): void {
  const i = argv.indexOf('--out');
  const out = resolve(i >= 0 && argv[i + 1] ? argv[i + 1]! : join(here, 'twitterprise-teams.zip'));
  const botAppId = process.env.MICROSOFT_APP_ID?.trim() || undefined;
  const teamsAppId = process.env.TEAMS_APP_ID?.trim() || undefined;
  if (!botAppId) {
    console.warn(`MICROSOFT_APP_ID is not set: the package keeps the placeholder bot id ${BOT_ID_PLACEHOLDER}, which Teams cannot reach.`);
  }
  const zip = buildPackage({ botAppId, teamsAppId });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, zip);
  console.log(`wrote ${out} (${zip.length} bytes)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
