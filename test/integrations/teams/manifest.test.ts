import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync, inflateSync } from 'node:zlib';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32 } from '../../../manifests/teams/crc32.js';
import { ALIASES, COMMAND_NAMES } from '../../../src/core/commands/usage.js';

// Both packages are CommonJS with `exports.default`; under NodeNext the default import is the module object.
const Ajv = AjvDraft04.default;
const addFormats = ajvFormats.default;

const dir = join(process.cwd(), 'manifests', 'teams');
const manifestText = readFileSync(join(dir, 'manifest.json'), 'utf8');
const manifest = JSON.parse(manifestText) as {
  manifestVersion: string;
  $schema: string;
  bots: { botId: string; scopes: string[]; commandLists: { scopes: string[]; commands: { title: string; description?: string }[] }[] }[];
};

/** Microsoft's own manifest schema for a version, as shipped in @microsoft/app-manifest (draft-04). */
function validatorFor(version: string) {
  const file = join(process.cwd(), 'node_modules/@microsoft/app-manifest/build/json-schemas/teams', `v${version}`, 'MicrosoftTeams.schema.json');
  expect(existsSync(file), `no official schema for manifestVersion ${version}`).toBe(true);
  // strict: false because Microsoft's schema uses patterns Ajv's strict mode rejects (e.g. additionalProperties without type).
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(file, 'utf8')) as object);
}

/** Command words of SPEC section 2, from the grammar's own registry. */
const COMMAND_WORDS = new Set<string>([...COMMAND_NAMES, ...Object.keys(ALIASES)]);

function png(file: string) {
  const d = readFileSync(join(dir, file));
  expect(d.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(d.toString('ascii', 12, 16)).toBe('IHDR');
  const width = d.readUInt32BE(16);
  const height = d.readUInt32BE(20);
  const bitDepth = d[24];
  const colorType = d[25];
  const idat: Buffer[] = [];
  for (let off = 8; off < d.length; ) {
    const len = d.readUInt32BE(off);
    const type = d.toString('ascii', off + 4, off + 8);
    expect(d.readUInt32BE(off + 8 + len), `CRC of ${type}`).toBe(crc32(d.subarray(off + 4, off + 8 + len)));
    if (type === 'IDAT') idat.push(d.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  return { width, height, bitDepth, colorType, raw: inflateSync(Buffer.concat(idat)) };
}

/** RGBA pixels of an 8-bit RGBA PNG whose scanlines all use filter 0 (what make-icons.ts writes). */
function pixels(p: ReturnType<typeof png>): number[][] {
  const out: number[][] = [];
  const stride = 1 + p.width * 4;
  for (let y = 0; y < p.height; y++) {
    expect(p.raw[y * stride]).toBe(0);
    for (let x = 0; x < p.width; x++) {
      const i = y * stride + 1 + x * 4;
      out.push([p.raw[i]!, p.raw[i + 1]!, p.raw[i + 2]!, p.raw[i + 3]!]);
    }
  }
  return out;
}

/** Reads a zip through its central directory, inflating each entry and checking its CRC-32. */
function readZip(buf: Buffer): Map<string, Buffer> {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(eocd).toBeGreaterThan(0);
  const count = buf.readUInt16LE(eocd + 10);
  let off = buf.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    expect(buf.readUInt32LE(off)).toBe(0x02014b50);
    const method = buf.readUInt16LE(off + 10);
    const crc = buf.readUInt32LE(off + 16);
    const size = buf.readUInt32LE(off + 20);
    const nameLen = buf.readUInt16LE(off + 28);
    const extraLen = buf.readUInt16LE(off + 30);
    const commentLen = buf.readUInt16LE(off + 32);
    const localOff = buf.readUInt32LE(off + 42);
    const name = buf.toString('utf8', off + 46, off + 46 + nameLen);
    expect(buf.readUInt32LE(localOff)).toBe(0x04034b50);
    const start = localOff + 30 + buf.readUInt16LE(localOff + 26) + buf.readUInt16LE(localOff + 28);
    const body = buf.subarray(start, start + size);
    const data = method === 8 ? inflateRawSync(body) : method === 0 ? Buffer.from(body) : expect.fail(`method ${method}`);
    expect(crc32(data), `CRC of ${name}`).toBe(crc);
    files.set(name, data);
    off += 46 + nameLen + extraLen + commentLen;
  }
  return files;
}

describe('Teams app manifest', () => {
  it('is valid against the official schema of its manifestVersion', () => {
    const validate = validatorFor(manifest.manifestVersion);
    expect(validate(manifest) ? [] : validate.errors).toEqual([]);
    expect(manifest.$schema).toContain(`/v${manifest.manifestVersion}/`);
  });

  it('the schema check is not a formality: a broken manifest is refused', () => {
    const validate = validatorFor(manifest.manifestVersion);
    const broken = structuredClone(manifest);
    broken.bots[0]!.botId = 'not-a-guid';
    broken.bots[0]!.scopes.push('everywhere');
    expect(validate(broken)).toBe(false);
    expect((validate.errors ?? []).map((e: { instancePath: string }) => e.instancePath)).toEqual(expect.arrayContaining(['/bots/0/botId', '/bots/0/scopes/3']));
  });

  it('offers the bot in personal chats, teams and group chats, with SPEC commands within Teams limits', () => {
    const bot = manifest.bots[0]!;
    expect(bot.scopes).toEqual(expect.arrayContaining(['personal', 'team', 'groupChat']));
    const covered = new Set(bot.commandLists.flatMap((l) => l.scopes));
    expect([...covered].sort()).toEqual(['groupChat', 'personal', 'team']);
    for (const list of bot.commandLists) {
      // Teams shows at most 10 commands per list; titles up to 32 characters, descriptions up to 128.
      expect(list.commands.length).toBeLessThanOrEqual(10);
      for (const c of list.commands) {
        expect(c.title.length, c.title).toBeLessThanOrEqual(32);
        expect((c.description ?? '').length, c.title).toBeLessThanOrEqual(128);
        expect(COMMAND_WORDS.has(c.title.split(' ')[0]!), `${c.title} is a SPEC command`).toBe(true);
      }
    }
    // The switch is both words: `off` without `on` in the menu leaves people no way back they can see.
    const personalTitles = bot.commandLists.find((l) => l.scopes.includes('personal'))!.commands.map((c) => c.title);
    expect(personalTitles).toEqual(expect.arrayContaining(['off', 'on', 'follow', 'unfollow', 'help']));
    const teamTitles = bot.commandLists.find((l) => l.scopes.includes('team'))!.commands.map((c) => c.title);
    expect(teamTitles).toEqual(expect.arrayContaining(['channel follow', 'channel publish']));
  });

  it('has a 192x192 colour icon and a 32x32 white-on-transparent outline icon', () => {
    const color = png('color.png');
    expect([color.width, color.height, color.bitDepth, color.colorType]).toEqual([192, 192, 8, 6]);
    expect(pixels(color).every((p) => p[3] === 255)).toBe(true);

    const outline = png('outline.png');
    expect([outline.width, outline.height, outline.bitDepth, outline.colorType]).toEqual([32, 32, 8, 6]);
    const px = pixels(outline);
    expect(px.every(([r, g, b, a]) => a === 0 || (r === 255 && g === 255 && b === 255))).toBe(true);
    expect(px.filter((p) => p[3]! > 0).length).toBeGreaterThan(50);
    expect(px.filter((p) => p[3] === 0).length).toBeGreaterThan(200);
  });

  describe('the package script', () => {
    const out = mkdtempSync(join(tmpdir(), 'tp-teams-'));
    afterAll(() => rmSync(out, { recursive: true, force: true }));
    const run = (env: Record<string, string>, file: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(dir, 'package.ts'), '--out', join(out, file)], {
        env: { ...process.env, MICROSOFT_APP_ID: '', TEAMS_APP_ID: '', ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });

    it('zips manifest.json, color.png and outline.png at the root with the bot id filled in', () => {
      const botId = '3f0c1a52-7b7e-4e0f-9d1e-5a2b8c4d6e70';
      const r = run({ MICROSOFT_APP_ID: botId }, 'app.zip');
      expect(r.status, r.stderr).toBe(0);
      const files = readZip(readFileSync(join(out, 'app.zip')));
      expect([...files.keys()].sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
      expect(files.get('color.png')).toEqual(readFileSync(join(dir, 'color.png')));
      expect(files.get('outline.png')).toEqual(readFileSync(join(dir, 'outline.png')));
      const packed = JSON.parse(files.get('manifest.json')!.toString('utf8')) as typeof manifest & { webApplicationInfo: { id: string } };
      expect(packed.bots[0]!.botId).toBe(botId);
      expect(packed.webApplicationInfo.id).toBe(botId);
      const validate = validatorFor(packed.manifestVersion);
      expect(validate(packed) ? [] : validate.errors).toEqual([]);
    });

    it('refuses an app id that is not a GUID', () => {
      const r = run({ MICROSOFT_APP_ID: 'my-bot' }, 'bad.zip');
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('MICROSOFT_APP_ID must be a GUID');
      expect(existsSync(join(out, 'bad.zip'))).toBe(false);
    });
  });
});
