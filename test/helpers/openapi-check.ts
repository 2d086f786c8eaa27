import type { IncomingMessage, ServerResponse } from 'node:http';
import AjvModule from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';

/**
 * Checks real answers against the OpenAPI document the app serves: the operation (method + path template)
 * must document the status, the media type, and a JSON body must match the documented schema. Answers to
 * paths the document does not describe (unknown paths, 405s, health, integrations) are not checked.
 */

// ajv is CommonJS: its default export is the class itself or under .default, depending on the loader.
type AjvClass = typeof AjvModule.default;
const Ajv2020 = ((AjvModule as unknown as { default?: AjvClass }).default ?? AjvModule) as AjvClass;
type AddFormats = typeof addFormatsModule.default;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as AddFormats;

interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, ResponseObj | { $ref: string }> }>>;
  components?: { schemas?: Record<string, unknown>; responses?: Record<string, ResponseObj> };
}
interface ResponseObj {
  content?: Record<string, { schema?: unknown }>;
}

export interface Answer {
  method: string;
  /** The request's path, with or without a query. */
  url: string;
  status: number;
  contentType: string | null;
  body: string;
}

const PREFIX = 'tp:';

/** `#/components/schemas/Status` -> `tp:Status`, so each component is an ajv schema of its own. */
function rewriteRefs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(rewriteRefs);
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = k === '$ref' && typeof x === 'string' && x.startsWith('#/components/schemas/') ? PREFIX + x.slice('#/components/schemas/'.length) : rewriteRefs(x);
  }
  return out;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface DocumentChecker {
  /** Null when the answer agrees with the document; otherwise what is wrong, in one line. */
  check(a: Answer): string | null;
}

export function documentChecker(doc: Doc): DocumentChecker {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) ajv.addSchema(rewriteRefs(schema) as object, PREFIX + name);

  const templates = Object.keys(doc.paths).map((template) => ({
    template,
    re: new RegExp(`^${template.split(/(\{[^}]+\})/).map((part) => (part.startsWith('{') ? '([^/]+)' : escapeRe(part))).join('')}/?$`),
    // Literal paths first: /api/v1/openapi.json before a /api/v1/{x}.
    params: (template.match(/\{/g) ?? []).length,
  }));
  templates.sort((a, b) => a.params - b.params);

  const compiled = new Map<string, ValidateFunction>();
  const validatorFor = (key: string, schema: unknown) => {
    let v = compiled.get(key);
    if (!v) {
      v = ajv.compile(rewriteRefs(schema) as object);
      compiled.set(key, v);
    }
    return v;
  };

  return {
    check(a) {
      const method = a.method.toLowerCase();
      if (method === 'head' || method === 'options') return null;
      // The path as the server saw it: dot segments (also %2e) resolved the way a client's URL parser does.
      const path = new URL(a.url.split('?')[0]!, 'http://check.invalid').pathname;
      const hit = templates.find((t) => t.re.test(path) && doc.paths[t.template]![method]);
      if (!hit) return null;
      const where = `${a.method} ${path} (${method} ${hit.template}) answered ${a.status}`;
      const op = doc.paths[hit.template]![method]!;
      let response = op.responses[String(a.status)];
      if (!response) return `${where}, a status the document does not list for it (it lists ${Object.keys(op.responses).join(', ')})`;
      if ('$ref' in response) response = doc.components?.responses?.[response.$ref.split('/').pop()!] ?? {};
      const content = (response as ResponseObj).content;
      if (!a.body) return null;
      if (!content) return `${where} with a ${a.contentType ?? 'typeless'} body, but the document says it has none`;
      const type = (a.contentType ?? '').split(';')[0]!.trim().toLowerCase();
      const media = content[type];
      if (!media) return `${where} as ${type || 'no type'}; the document lists ${Object.keys(content).join(', ')}`;
      if (!/json/.test(type) || media.schema === undefined) return null;
      let parsed: unknown;
      try {
        parsed = JSON.parse(a.body);
      } catch {
        return `${where} as ${type} that is not JSON`;
      }
      const validate = validatorFor(`${method} ${hit.template} ${a.status} ${type}`, media.schema);
      if (validate(parsed)) return null;
      const errors = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` "${String(e.params.additionalProperty)}"` : ''}`);
      return `${where}; its body does not match the documented schema: ${errors.join('; ')}`;
    },
  };
}

/**
 * Records what a server answers, request by request (the body up to 1 MB), for checking afterwards.
 * Call `watch(req, res)` first thing in the server's request listener.
 */
export function answerRecorder(onAnswer: (a: Answer) => void): (req: IncomingMessage, res: ServerResponse) => void {
  const MAX = 1024 * 1024;
  return (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const keep = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function' || size > MAX) return;
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
      size += b.length;
      chunks.push(b);
    };
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.write = ((...args: unknown[]) => {
      keep(args[0], args[1]);
      return write(...args);
    }) as typeof res.write;
    res.end = ((...args: unknown[]) => {
      keep(args[0], args[1]);
      return end(...args);
    }) as typeof res.end;
    res.on('finish', () => {
      const ct = res.getHeader('content-type');
      onAnswer({ method: req.method ?? 'GET', url: req.url ?? '/', status: res.statusCode, contentType: typeof ct === 'string' ? ct : null, body: size > MAX ? '' : Buffer.concat(chunks).toString('utf8') });
    });
  };
}
