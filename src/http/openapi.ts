import type { Express } from 'express';
import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject, type oas31 } from 'zod-openapi';
import { BODY_LIMIT_BYTES, tooLargeSentence } from '../web/body-limit.js';
import { problemBody, problemSentences, type ProblemCode } from './problem.js';
import { specOf, type Method, type ProblemStatus, type RouteSpec } from './route.js';
import { problemSchema } from './schemas.js';

/**
 * The OpenAPI 3.1 document, generated from the app itself: the builder walks the express app's routes and
 * takes each one's spec (declared with `route()` in src/http/route.ts), with the zod schemas that validate
 * its requests and type its answers. Nothing in it is written beside the code.
 */

/** The paths the document covers; a route under them without a spec is a gap (test/http/openapi.test.ts fails on one). */
export const DOCUMENTED_PREFIXES = ['/api/v1/', '/hooks/', '/feeds/', '/statuses/'] as const;

export const isDocumentedPath = (path: string): boolean => DOCUMENTED_PREFIXES.some((p) => path.startsWith(p));

export interface AppRoute {
  method: Method;
  /** The full express pattern: `/api/v1/statuses/:id`. */
  path: string;
  spec: RouteSpec | undefined;
}

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean>; stack: { handle: unknown }[] };
  rawPath?: unknown;
  handle: { stack?: Layer[] };
}

const join = (a: string, b: string) => `${a.replace(/\/$/, '')}/${b.replace(/^\//, '')}`.replace(/\/$/, '') || '/';

function walk(stack: Layer[], prefix: string, out: AppRoute[]): void {
  for (const layer of stack) {
    if (layer.route) {
      if (typeof layer.route.path !== 'string') continue;
      const spec = layer.route.stack.map((l) => specOf(l.handle)).find((s) => s !== undefined);
      for (const [m, on] of Object.entries(layer.route.methods)) {
        if (!on || m === '_all' || m === 'head' || m === 'options') continue;
        out.push({ method: m as Method, path: join(prefix, layer.route.path), spec });
      }
    } else if (Array.isArray(layer.handle.stack) && typeof layer.rawPath === 'string') {
      walk(layer.handle.stack, join(prefix, layer.rawPath), out);
    }
  }
}

/** Every route the app answers, with its spec when it has one (express 5's router stack). */
export function appRoutes(app: Express): AppRoute[] {
  const out: AppRoute[] = [];
  const router = (app as unknown as { router: { stack: Layer[] } }).router;
  walk(router.stack, '', out);
  return out;
}

/** `/statuses/:id` -> `/statuses/{id}`; `/:handle.atom` -> `/{handle}.atom`. */
export const openApiPath = (expressPath: string): string => expressPath.replace(/:([A-Za-z_$][\w$]*)/g, '{$1}');

const problemTitles: Record<ProblemStatus, string> = {
  400: 'The request is malformed or a field is wrong; `detail` names it.',
  401: 'No token, or one that is not valid (answered with `WWW-Authenticate: Bearer`).',
  403: 'The token is valid but its owner may not do this.',
  404: 'No such resource, or one the token may not see.',
  409: 'It clashes with what exists.',
  413: `The body is larger than ${BODY_LIMIT_BYTES / 1024} KiB (every endpoint).`,
  415: 'The body is of a media type or character set this endpoint does not read.',
  422: 'Well formed, but it breaks a rule (e.g. a status over 1,000 characters).',
  429: 'Too many requests: wait `Retry-After` seconds.',
  503: 'The database or Redis is not reachable; retry in a moment.',
};

/** Each problem status's example: the problem the API answers with it, in a sentence of the kind it sends. */
const problemExamples: Record<ProblemStatus, { code: ProblemCode; detail: string }> = {
  400: { code: 'invalid', detail: 'Field "text": expected string, received number.' },
  401: { code: 'unauthenticated', detail: 'The bearer token is not valid (unknown, revoked or expired).' },
  403: { code: 'forbidden', detail: 'Only an administrator may do this.' },
  404: { code: 'not_found', detail: 'Unknown source.' },
  409: { code: 'conflict', detail: 'The handle @build is taken.' },
  413: { code: 'too_large', detail: tooLargeSentence() },
  415: { code: 'unsupported_media_type', detail: problemSentences.charset },
  422: { code: 'rule', detail: 'A status is at most 1,000 characters; this one has 1,204.' },
  429: { code: 'rate_limited', detail: 'This token may post 60 statuses a minute and has used them; retry in 12 s.' },
  503: { code: 'unavailable', detail: problemSentences.unavailable },
};

/** One object per status: zod-openapi registers each as a component (`#/components/responses/Problem404`) by identity. */
const problemResponses = new Map<ProblemStatus, ZodOpenApiResponseObject>();
function problemResponse(status: ProblemStatus): ZodOpenApiResponseObject {
  let r = problemResponses.get(status);
  if (!r) {
    r = {
      description: problemTitles[status],
      // The schema's own example is a 400; each status shows a problem of its own.
      content: { 'application/problem+json': { schema: problemSchema, example: problemBody('https://tp.example.com', problemExamples[status].code, problemExamples[status].detail) } },
      ...(status === 429 ? { headers: z.object({ 'Retry-After': z.string().meta({ description: 'Seconds to wait' }) }) } : {}),
      id: `Problem${status}`,
    };
    problemResponses.set(status, r);
  }
  return r;
}

/**
 * The problems every operation of its kind can answer: 400 (bad URL, parameters, body or JSON), 413, 503;
 * with a token 401 and 415 (/api/v1 parses a JSON body on every path, so a body in a character set it does
 * not read is refused anywhere there); 415 wherever a body is read.
 */
function commonProblems(spec: RouteSpec): ProblemStatus[] {
  const out: ProblemStatus[] = [400, 413, 503];
  if ((spec.auth ?? 'bearer') === 'bearer') out.push(401, 415);
  if (spec.admin) out.push(403);
  if (spec.request?.body || spec.request?.content) out.push(415);
  return out;
}

const security: Record<NonNullable<RouteSpec['auth']>, oas31.SecurityRequirementObject[]> = {
  bearer: [{ bearerAuth: [] }],
  none: [],
  'path-token': [],
  // A public feed needs nothing; a protected one needs ?token=.
  'feed-token': [{}, { feedToken: [] }],
};

function operation(spec: RouteSpec, path: string): ZodOpenApiOperationObject {
  const req = spec.request ?? {};
  const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const declared = req.params ? Object.keys(req.params.shape) : [];
  const missing = names.filter((n) => !declared.includes(n));
  const params = missing.length ? (req.params ?? z.object({})).extend(Object.fromEntries(missing.map((n) => [n, z.string()]))) : req.params;

  const responses: Record<string, ZodOpenApiResponseObject> = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const content: Record<string, { schema: z.ZodType }> = {};
    if (r.body) content['application/json'] = { schema: r.body };
    for (const [type, schema] of Object.entries(r.content ?? {})) content[type] = { schema };
    responses[status] = { description: r.description, ...(Object.keys(content).length ? { content } : {}), ...(r.headers ? { headers: r.headers } : {}) };
  }
  const problems = [...new Set([...commonProblems(spec), ...(spec.problems ?? [])])].sort((a, b) => a - b);
  for (const p of problems) {
    const own = responses[String(p)];
    // A status the handler answers itself (e.g. an HTML 404) may also be a problem: both media types.
    if (own) own.content = { ...own.content, 'application/problem+json': { schema: problemSchema } };
    else responses[String(p)] = problemResponse(p);
  }

  let requestBody: ZodOpenApiOperationObject['requestBody'];
  if (req.body || req.content) {
    const content: Record<string, { schema: z.ZodType }> = {};
    if (req.body) content['application/json'] = { schema: req.body };
    for (const [type, schema] of Object.entries(req.content ?? {})) content[type] = { schema };
    requestBody = { required: req.bodyRequired ?? (req.body !== undefined && !req.content), content };
  }

  const description = [spec.description, spec.admin ? 'Administrators only (an admin\'s token or `ADMIN_TOKEN`).' : undefined].filter(Boolean).join('\n\n');
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(description ? { description } : {}),
    tags: [...spec.tags],
    security: security[spec.auth ?? 'bearer'],
    requestParams: {
      ...(params ? { path: params } : {}),
      ...(req.query ? { query: req.query } : {}),
      ...(req.headers ? { header: req.headers } : {}),
    },
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

const TAGS: oas31.TagObject[] = [
  { name: 'statuses', description: 'Post, read and delete statuses.' },
  { name: 'sources', description: 'People and services: the directory and their timelines.' },
  { name: 'follows', description: 'Follows of the token owner and of its webhook endpoints, and follow requests.' },
  { name: 'webhooks', description: 'Outgoing webhook endpoints (Standard Webhooks) and their deliveries.' },
  { name: 'inputs', description: "A service's feed and calendar inputs (polled into its statuses)." },
  { name: 'admin', description: 'People, services, tokens, hooks, digests and the consent record.' },
  { name: 'public', description: 'No bearer token: incoming hooks, feeds, status pages and this document.' },
];

export interface DocumentOptions {
  publicUrl: string;
  version: string;
}

/** Builds the OpenAPI 3.1 document of every documented route the app has. */
export function buildOpenApiDocument(app: Express, opts: DocumentOptions): oas31.OpenAPIObject {
  const paths: ZodOpenApiPathsObject = {};
  const seen = new Set<string>();
  for (const r of appRoutes(app)) {
    if (!r.spec || !isDocumentedPath(r.path)) continue;
    if (seen.has(r.spec.operationId)) throw new Error(`Two routes declare operationId ${r.spec.operationId}`);
    seen.add(r.spec.operationId);
    const path = openApiPath(r.path);
    (paths[path] ??= {})[r.method] = operation(r.spec, path);
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Twitterprise API',
      version: opts.version,
      description:
        'Post statuses, follow sources, and receive them by webhook. Every `/api/v1` path takes `Authorization: Bearer tp_...` ' +
        'except `/api/v1/openapi.json`. Errors are RFC 9457 `application/problem+json`. Lists are `{"items": [...], "next"}`: ' +
        'pass `next` as `before` for the next page, `limit` up to 100. Bodies over 64 KiB are refused (413) on every endpoint.',
    },
    servers: [{ url: opts.publicUrl }],
    tags: TAGS,
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token (`tp_...`) of a person or a service, or `ADMIN_TOKEN`.' },
        feedToken: { type: 'apiKey', in: 'query', name: 'token', description: 'For a protected source\'s feed: an API token of someone allowed to see it (feed readers cannot send headers).' },
      },
    },
  });
}
