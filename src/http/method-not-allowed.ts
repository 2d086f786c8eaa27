import type { Express, RequestHandler } from 'express';
import { sendProblem } from './problem.js';

/** What the router keeps of one entry (express 5's router; express 4's, mounted by a library, answers `match` with a boolean). */
interface RouterLayer {
  match(path: string): { path: string } | boolean;
  path?: string;
  route?: { methods: Record<string, boolean | undefined> };
  handle?: { stack?: RouterLayer[] };
}

/** The methods some route answers for `path`, walking mounted routers the way the router itself does. */
function methodsFor(stack: readonly RouterLayer[], path: string, into: Set<string>, depth = 0): void {
  if (depth > 8) return;
  for (const layer of stack) {
    const m = layer.match(path);
    if (!m) continue;
    if (layer.route) {
      for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') into.add(method.toUpperCase());
    } else if (layer.handle?.stack) {
      const prefix = typeof m === 'object' ? m.path : (layer.path ?? '');
      const rest = path.slice(prefix.length);
      if (rest === '' || rest.startsWith('/')) methodsFor(layer.handle.stack, rest || '/', into, depth + 1);
    }
  }
}

/** The `Allow` value for a path some route knows, or null when no route knows it. */
export function allowedMethods(app: Express, path: string): string | null {
  const methods = new Set<string>();
  methodsFor((app.router as unknown as { stack: RouterLayer[] }).stack, path, methods);
  if (methods.has('GET')) methods.add('HEAD');
  if (!methods.size) return null;
  return [...methods].sort().join(', ');
}

/**
 * Last before the 404: a path that exists under another method answers 405 with `Allow` (RFC 9110
 * section 15.5.6), as problem+json; anything else falls through to the 404.
 */
export function methodNotAllowed(app: Express, publicUrl: string): RequestHandler {
  return (req, res, next) => {
    const allow = allowedMethods(app, req.path);
    if (!allow || allow.split(', ').includes(req.method)) {
      next();
      return;
    }
    res.setHeader('Allow', allow);
    sendProblem(res, publicUrl, 'method_not_allowed', `${req.method} is not allowed on ${req.path.slice(0, 200)}; it takes ${allow}.`);
  };
}
