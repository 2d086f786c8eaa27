import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/**
 * A feed and calendar publisher on loopback, speaking plain HTTP as a real one does: each path serves
 * what the test set (and changes between polls), with ETag/Last-Modified and 304 for a conditional GET
 * that matches, redirects, errors with Retry-After, gzip, any bytes (another charset), anything large.
 */
export interface Doc {
  body?: string | Buffer;
  status?: number;
  type?: string;
  etag?: string;
  lastModified?: string;
  headers?: Record<string, string>;
  gzip?: boolean;
  /** 301/302/307/308 to this location. */
  redirect?: string;
}

export interface FeedServer {
  url: string;
  host: string;
  set(path: string, doc: Doc): void;
  /** Requests seen per path, with their headers. */
  requests: { path: string; headers: IncomingHttpHeaders }[];
  hits(path: string): number;
  close(): Promise<void>;
}

export async function startFeedServer(host = '127.0.0.1'): Promise<FeedServer> {
  const docs = new Map<string, Doc>();
  const requests: FeedServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push({ path, headers: req.headers });
    const d = docs.get(path);
    if (!d) return void res.writeHead(404).end('not found');
    if (d.redirect) return void res.writeHead(d.status ?? 302, { location: d.redirect }).end();
    const validators: Record<string, string> = { ...(d.etag ? { etag: d.etag } : {}), ...(d.lastModified ? { 'last-modified': d.lastModified } : {}) };
    const status = d.status ?? 200;
    if (status === 200 && ((d.etag && req.headers['if-none-match'] === d.etag) || (!d.etag && d.lastModified && req.headers['if-modified-since'] === d.lastModified))) {
      return void res.writeHead(304, validators).end();
    }
    let body = typeof d.body === 'string' ? Buffer.from(d.body, 'utf8') : (d.body ?? Buffer.alloc(0));
    const headers: Record<string, string> = { 'content-type': d.type ?? 'application/xml', ...validators, ...d.headers };
    if (d.gzip) {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    res.writeHead(status, headers).end(body);
  });
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    host,
    set: (path, doc) => void docs.set(path, doc),
    requests,
    hits: (path) => requests.filter((r) => r.path === path).length,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** An RSS 2.0 document, newest item first as feeds list them. */
export function rss(items: { guid?: string; title: string; link?: string; date?: string }[], opts: { home?: string; encoding?: string } = {}): string {
  const body = items
    .map((i) => `<item><title>${esc(i.title)}</title>${i.link ? `<link>${i.link}</link>` : ''}${i.guid ? `<guid>${i.guid}</guid>` : ''}${i.date ? `<pubDate>${i.date}</pubDate>` : ''}</item>`)
    .join('');
  return `<?xml version="1.0" encoding="${opts.encoding ?? 'UTF-8'}"?><rss version="2.0"><channel><title>Status</title><link>${opts.home ?? 'https://status.example.com/'}</link><description>x</description>${body}</channel></rss>`;
}
