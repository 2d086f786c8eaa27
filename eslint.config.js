// @ts-check
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, top first (README "Architecture"). An import may point down or sideways, never up.
 * Each entry names the folders and the top-level modules (without `.ts`) of that layer.
 */
const LAYERS = [
  { name: 'entry points', modules: ['main', 'cli', 'ready-line'], folders: [] },
  { name: 'http and console', modules: [], folders: ['http', 'console'] },
  { name: 'integrations', modules: [], folders: ['integrations'] },
  { name: 'pipeline', modules: [], folders: ['pipeline'] },
  { name: 'app', modules: [], folders: ['app'] },
  { name: 'core, db and shared plumbing', modules: ['config', 'log', 'redis'], folders: ['core', 'db', 'net', 'web', 'runtime'] },
];
/** The ports integrations implement: the only part of pipeline/ an integration may import. */
const PIPELINE_PORTS = ['pipeline/channel.ts', 'pipeline/messenger.ts'];
const SRC = path.join(import.meta.dirname, 'src');

/** Where a path under src/ sits: its layer index, its top folder ('' for a top-level module), or null outside src/. */
function placeOf(file) {
  const rel = path.relative(SRC, file).split(path.sep).join('/');
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const [first, ...rest] = rel.split('/');
  const folder = rest.length ? first : '';
  const module = rest.length ? '' : first.replace(/\.(ts|js)$/, '');
  const layer = LAYERS.findIndex((l) => (folder ? l.folders.includes(folder) : l.modules.includes(module)));
  return { rel, folder, module, layer };
}

const describePlace = (p) => (p.folder ? `${p.folder}/` : `${p.module}.ts`);

export const layersPlugin = {
  rules: {
    direction: {
      meta: {
        type: 'problem',
        docs: { description: 'imports in src/ run down the layers: entry points, http+console, integrations, pipeline, app, core+db+plumbing' },
        schema: [],
      },
      create(context) {
        const from = placeOf(context.filename);
        if (!from) return {};
        const check = (node, source) => {
          if (typeof source !== 'string' || !source.startsWith('.')) return;
          if (from.layer < 0) return;
          const to = placeOf(path.resolve(path.dirname(context.filename), source.replace(/\.js$/, '.ts')));
          if (!to || (to.folder && to.folder === from.folder)) return;
          if (to.layer < 0) {
            context.report({ node, message: `${describePlace(to)} is in no layer: add it to LAYERS in eslint.config.js.` });
          } else if (to.layer < from.layer) {
            context.report({
              node,
              message: `${describePlace(from)} (${LAYERS[from.layer].name}) may not import ${to.rel}: it sits above (${LAYERS[to.layer].name}). Move what both need below, or pass it in from main.ts.`,
            });
          } else if (from.folder === 'integrations' && to.folder === 'pipeline' && !PIPELINE_PORTS.includes(to.rel)) {
            context.report({ node, message: `An integration sees only the pipeline's ports (${PIPELINE_PORTS.join(', ')}), not ${to.rel}.` });
          } else if (from.folder === 'core' && to.folder !== 'core') {
            context.report({ node, message: `core/ is pure and imports only core/ (and zod): not ${to.rel}.` });
          }
        };
        return {
          Program(node) {
            if (from.layer < 0) context.report({ node, message: `src/${describePlace(from)} is in no layer: add it to LAYERS in eslint.config.js.` });
          },
          ImportDeclaration: (node) => check(node.source, node.source.value),
          ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
          ExportAllDeclaration: (node) => check(node.source, node.source.value),
          ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
        };
      },
    },
  },
};

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'drizzle/', 'coverage/', 'bin/', 'manifests/**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { layers: layersPlugin },
    rules: { 'layers/direction': 'error' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'manifests/**/*.ts', 'src/cli.ts'],
    rules: { 'no-console': 'off' },
  },
);
