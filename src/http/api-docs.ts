import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Express } from 'express';
import { z } from 'zod';
import { buildOpenApiDocument } from './openapi.js';
import { route } from './route.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ownAssets = path.join(root, 'assets/api-docs');
const swaggerDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

function appVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * The reference page's policy: scripts and styles only from this server (Swagger UI's bundle and our
 * initialiser, no inline script, no CDN), the document fetched from here, nothing framed.
 */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Twitterprise API reference</title>
<link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png">
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
<link rel="stylesheet" href="/api/docs/docs.css">
</head>
<body>
<header class="tp-header">
<h1>Twitterprise API reference</h1>
<p>Generated from the schemas that validate each request. The same as JSON: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).</p>
</header>
<main id="swagger-ui" aria-label="Operations"><noscript><p>This page needs JavaScript; the document itself is <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></noscript></main>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;

/** The files the page loads, and where they are: Swagger UI's from swagger-ui-dist, ours from assets/api-docs. */
const assets: Record<string, { file: string; type: string }> = {
  'swagger-ui-bundle.js': { file: path.join(swaggerDir, 'swagger-ui-bundle.js'), type: 'text/javascript; charset=utf-8' },
  'swagger-ui.css': { file: path.join(swaggerDir, 'swagger-ui.css'), type: 'text/css; charset=utf-8' },
  'favicon-32x32.png': { file: path.join(swaggerDir, 'favicon-32x32.png'), type: 'image/png' },
  'init.js': { file: path.join(ownAssets, 'init.js'), type: 'text/javascript; charset=utf-8' },
  'docs.css': { file: path.join(ownAssets, 'docs.css'), type: 'text/css; charset=utf-8' },
};

/** A loose view of the document: its own schema is the OpenAPI 3.1 one. */
const documentSchema = z.looseObject({ openapi: z.string().meta({ example: '3.1.0' }), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) }).meta({
  description: 'An OpenAPI 3.1 document',
});

/**
 * `GET /api/v1/openapi.json` (no token: the one /api/v1 path that needs none) and `GET /api/docs`, the
 * reference page. The document is built from the app's routes at the first request, once.
 */
export function apiDocsRoutes(app: Express, opts: { publicUrl: string }): Router {
  const r = Router();
  let doc: ReturnType<typeof buildOpenApiDocument> | undefined;

  route(
    r,
    {
      method: 'get',
      path: '/api/v1/openapi.json',
      operationId: 'getOpenApiDocument',
      summary: 'This document',
      description: 'OpenAPI 3.1, generated from the schemas that validate the requests. Needs no token. Read it as a page at `/api/docs`.',
      tags: ['public'],
      auth: 'none',
      responses: { 200: { description: 'The OpenAPI document', body: documentSchema } },
    },
    async (_input, _req, res) => {
      doc ??= buildOpenApiDocument(app, { publicUrl: opts.publicUrl, version: appVersion() });
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.setHeader('Access-Control-Allow-Origin', '*');
      return { status: 200, body: doc as unknown as z.input<typeof documentSchema> };
    },
  );

  r.get('/api/docs', (_req, res) => {
    res.set({ 'Content-Security-Policy': DOCS_CSP, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' });
    res.type('html').send(page);
  });

  r.get('/api/docs/:file', (req, res, next) => {
    const asset = Object.hasOwn(assets, req.params.file) ? assets[req.params.file] : undefined;
    if (!asset) {
      next();
      return;
    }
    res.set({ 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' });
    res.type(asset.type).sendFile(asset.file);
  });

  return r;
}
