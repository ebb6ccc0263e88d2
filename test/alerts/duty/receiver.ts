import { createServer } from 'node:http';

/**
 * A real local HTTP endpoint standing in for a WeCom / DingTalk robot or an SMS gateway: records
 * every request (URL, headers, parsed JSON body) it takes, refuses the next `n` with 503, and
 * answers what a robot answers (`{"errcode":0}`).
 */
export interface Receiver {
  readonly url: string;
  readonly requests: Array<{ url: string; headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }>;
  refuse(n: number): void;
  close(): Promise<void>;
}

export async function startReceiver(path = '/hook'): Promise<Receiver> {
  const requests: Receiver['requests'] = [];
  let refusing = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (refusing > 0) {
        refusing -= 1;
        res.writeHead(503).end('{}');
        return;
      }
      requests.push({ url: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0,"errmsg":"ok"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}${path}`,
    requests,
    refuse: (n) => {
      refusing = n;
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
