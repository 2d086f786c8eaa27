import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { requireAdmin } from '../app/tokens.js';
import { principalOf } from './auth.js';
import { parseInput } from './problem.js';

/**
 * One declaration per HTTP operation: its zod schemas validate the request here and are the very objects the
 * OpenAPI document (src/http/openapi.ts) is generated from, and the handler's answer is typed against its
 * response schemas. See docs/api.md, "How a route is documented".
 */

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call: a bearer API token (every /api/v1 path but openapi.json), nobody in particular, a feed `?token=`, or a secret in the path. */
export type Auth = 'bearer' | 'none' | 'feed-token' | 'path-token';

/** Problem statuses an operation may answer besides the ones every operation of its kind has (see COMMON_PROBLEMS in openapi.ts). */
export type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503;

export interface ResponseSpec {
  description: string;
  /** The JSON body (`application/json`); leave out for an empty body (204, 202 without body). */
  body?: z.ZodType;
  /** Bodies of other media types, each with its schema (`z.string()` for text); with `body`, JSON is one choice of several. */
  content?: Readonly<Record<string, z.ZodType>>;
  /** Response headers, documented (the handler sets them). */
  headers?: z.ZodObject;
}

export interface RequestSpec {
  /** Path parameters, by the names in `path` (`:id` -> `id`). Validated; a failure is 400. */
  params?: z.ZodObject;
  /** Query parameters. Validated; a failure is 400. */
  query?: z.ZodObject;
  /** Request headers. Documented; the handler reads them (e.g. `idempotencyKey(req)`, which uses the same schema). */
  headers?: z.ZodObject;
  /** The JSON body. Validated (a missing or wrong body is 400), unless `content` handles other media types too. */
  body?: z.ZodType;
  /**
   * Several media types (e.g. `text/plain` and `application/json` for /hooks): the body is checked against the
   * schema of the type it arrived as (a string body against `text/*`, a parsed JSON body against the JSON one).
   */
  content?: Readonly<Record<string, z.ZodType>>;
  /** Whether a body must be sent (default: true when `body` is given). */
  bodyRequired?: boolean;
}

export interface RouteSpec {
  method: Method;
  /** The express pattern, relative to where the router is mounted: `/statuses/:id`. */
  path: string;
  /** Unique, camelCase: `createStatus`. */
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  /** Default `bearer`. */
  auth?: Auth;
  /** Admin only: documented, and checked before the request is validated (a non-admin gets 403, never 400). */
  admin?: boolean;
  request?: RequestSpec;
  /** Success answers, by status: what the handler returns. */
  responses: Readonly<Record<number, ResponseSpec>>;
  /** The problems this operation answers besides the common ones (400, 401, 413, 415, 503). */
  problems?: readonly ProblemStatus[];
  /** Run before validation, in order: a rate limit, a token in the path. */
  before?: readonly RequestHandler[];
}

type Out<T> = T extends z.ZodType ? z.input<T> : never;
type ContentBody<C> = C extends Readonly<Record<string, z.ZodType>> ? { [K in keyof C]: Out<C[K]> }[keyof C] : never;
type BodyOf<R extends ResponseSpec> = Out<R['body']> | ContentBody<R['content']>;

/** What a handler answers: one of the declared statuses with the body its schema describes. */
export type ReplyOf<Rs extends RouteSpec['responses']> = {
  [S in keyof Rs & number]: [BodyOf<Rs[S]>] extends [never]
    ? { status: S; body?: undefined; type?: string }
    : { status: S; body: BodyOf<Rs[S]>; /** Content-Type when not JSON. */ type?: string };
}[keyof Rs & number];

type In<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface InputOf<S extends RouteSpec> {
  params: In<NonNullable<S['request']>['params']>;
  query: In<NonNullable<S['request']>['query']>;
  body: S['request'] extends { body: z.ZodType } ? z.output<S['request']['body']> : S['request'] extends { content: infer C } ? ContentBody<C> | undefined : undefined;
}

export type Handler<S extends RouteSpec> = (input: InputOf<S>, req: Request, res: Response) => Promise<ReplyOf<S["responses"]>>;

const specs = new WeakMap<object, RouteSpec>();

/** The spec a route handler was declared with (the OpenAPI builder walks the app's routes with it). */
export function specOf(handler: unknown): RouteSpec | undefined {
  return typeof handler === 'function' ? specs.get(handler) : undefined;
}

function validateBody(spec: RequestSpec, req: Request): unknown {
  if (spec.content) {
    if (req.body === undefined) {
      if (spec.bodyRequired) parseInput(spec.body ?? Object.values(spec.content)[0]!, undefined, 'body');
      return undefined;
    }
    // The schema of the media type the body arrived as; a parsed (non-string) body is JSON.
    const isText = typeof req.body === 'string';
    const entry = Object.entries(spec.content).find(([type]) => (isText ? !/json/.test(type) && req.is(type) : /json/.test(type)));
    const schema = entry?.[1] ?? (isText ? undefined : spec.body);
    return schema ? parseInput(schema, req.body, 'body') : req.body;
  }
  if (spec.body) {
    if (req.body === undefined && spec.bodyRequired === false) return undefined;
    return parseInput(spec.body, req.body, 'body');
  }
  return undefined;
}

/**
 * Declares and mounts one operation on `router`: `before` middleware, then the admin check, then the path
 * parameters, query and body are validated with the spec's schemas (400 problems naming the field), then the
 * handler runs and its reply is sent (JSON, or `type` for other media types, or an empty body).
 */
export function route<const S extends RouteSpec>(router: Router, spec: S, handler: NoInfer<Handler<S>>): void {
  const run: RequestHandler = async (req, res) => {
    if (spec.admin) requireAdmin(principalOf(res));
    const r = spec.request ?? {};
    const input = {
      params: r.params ? parseInput(r.params, req.params, 'path') : undefined,
      query: r.query ? parseInput(r.query, req.query, 'query') : undefined,
      body: validateBody(r, req),
    } as InputOf<S>;
    const reply = (await handler(input, req, res)) as { status: number; body?: unknown; type?: string };
    res.status(reply.status);
    if (reply.body === undefined) res.end();
    else if (reply.type) res.type(reply.type).send(reply.body);
    else res.json(reply.body);
  };
  specs.set(run, spec);
  router[spec.method](spec.path, ...(spec.before ?? []), run);
}
