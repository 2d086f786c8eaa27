import http from 'node:http';

/**
 * A lean HTTP/1.1 client for load generation: keep-alive sockets, no fetch machinery, so the client
 * takes as little of the machine's two cores as it can from the processes being measured.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export function request(url: string, opts: { method: string; headers?: Record<string, string>; body?: string; timeoutMs?: number }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body);
    const req = http.request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: opts.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}
