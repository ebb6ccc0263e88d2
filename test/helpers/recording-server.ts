import { createServer, type IncomingHttpHeaders } from 'node:http';

/** A request a recording server received, with the status it answered. */
export interface RecordedRequest { url: string; headers: IncomingHttpHeaders; body: string; status: number }

/**
 * A real local HTTP server that keeps every request it receives (webhook receivers, WeCom and
 * DingTalk robots in tests) and answers what `answer` says for each.
 */
export async function startRecordingServer(answer: () => { status: number; body: string }): Promise<{
  base: string; received: RecordedRequest[]; close(): Promise<void>;
}> {
  const received: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const a = answer();
      received.push({ url: req.url ?? '', headers: req.headers, body, status: a.status });
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
