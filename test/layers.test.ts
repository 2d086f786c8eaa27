import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const root = process.cwd();

/** The layer rule alone, from eslint.config.js, on the TypeScript parser without type information. */
async function lintAs(file: string, code: string): Promise<string[]> {
  const config = (await import(pathToFileURL(path.join(root, 'eslint.config.js')).href)) as { layersPlugin: NonNullable<Linter.Config['plugins']>[string] };
  const eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, plugins: { layers: config.layersPlugin }, rules: { 'layers/direction': 'error' } }],
  });
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.map((m) => m.message);
}

describe('imports run down the layers (layers/direction in eslint.config.js)', () => {
  it('allows imports down and sideways', async () => {
    expect(await lintAs('src/main.ts', "import { x } from './integrations/webhooks/channel.js';\nimport { y } from './http/app.js';")).toEqual([]);
    expect(await lintAs('src/http/routes/x.ts', "import { a } from '../../app/statuses.js';\nimport { b } from '../../web/body-limit.js';\nimport { c } from '../../console/index.js';")).toEqual([]);
    expect(await lintAs('src/integrations/slack/x.ts', "import type { Messenger } from '../../pipeline/messenger.js';\nimport { d } from '../../net/address-guard.js';")).toEqual([]);
    expect(await lintAs('src/pipeline/x.ts', "import { e } from '../app/context.js';\nimport { f } from '../db/schema.js';\nimport { g } from '../redis.js';")).toEqual([]);
    expect(await lintAs('src/core/commands/x.ts', "import { h } from '../errors.js';\nimport { z } from 'zod';")).toEqual([]);
  });

  it('refuses an import up the layers, static, re-exported or dynamic', async () => {
    expect(await lintAs('src/pipeline/x.ts', "import { c } from '../integrations/webhooks/channel.js';")).toEqual([expect.stringMatching(/pipeline\/ \(pipeline\) may not import integrations\/webhooks\/channel\.ts/)]);
    expect(await lintAs('src/integrations/email/x.ts', "export { htmlDocument } from '../../http/html-page.js';")).toEqual([expect.stringMatching(/may not import http\/html-page\.ts/)]);
    expect(await lintAs('src/app/x.ts', "const m = await import('../pipeline/index.js');")).toEqual([expect.stringMatching(/app\/ \(app\) may not import pipeline\/index\.ts/)]);
    expect(await lintAs('src/config.ts', "import { main } from './main.js';")).toHaveLength(1);
    expect(await lintAs('src/web/x.ts', "import type { Problem } from '../http/problem.js';")).toHaveLength(1);
  });

  it("lets an integration see only the pipeline's ports, and keeps core pure", async () => {
    expect(await lintAs('src/integrations/email/x.ts', "import { w } from '../../pipeline/waiting.js';")).toEqual([expect.stringMatching(/only the pipeline's ports/)]);
    expect(await lintAs('src/core/x.ts', "import { deliveries } from '../db/schema.js';")).toEqual([expect.stringMatching(/core\/ is pure/)]);
  });

  it('names a folder that is in no layer, so that a new one gets a place', async () => {
    expect(await lintAs('src/http/x.ts', "import { q } from '../somewhere/q.js';")).toEqual([expect.stringMatching(/somewhere\/ is in no layer/)]);
    expect(await lintAs('src/somewhere/x.ts', '')).toEqual([expect.stringMatching(/src\/somewhere\/ is in no layer/)]);
  });
});
