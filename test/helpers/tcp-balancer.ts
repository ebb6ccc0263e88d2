import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP load balancer for cluster tests, as HAProxy in `mode tcp` with `balance roundrobin` would
 * be: each client connection goes to the next backend in turn; a backend that refuses the
 * connection is skipped for the next one; either side closing closes both. Backends are read on
 * every connection, so a test can remove a killed node and add it back on its new port.
 */
export interface TcpBalancer {
  readonly url: string;
  /** Connections sent to each backend so far (`host:port` → count). */
  readonly routed: Map<string, number>;
  close(): Promise<void>;
}

export async function startTcpBalancer(backends: () => readonly string[], scheme = 'mqtt'): Promise<TcpBalancer> {
  let next = 0;
  const open = new Set<Socket>();
  const routed = new Map<string, number>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const list = backends();
    const attempt = (tries: number): void => {
      if (tries >= list.length || client.destroyed) {
        client.destroy();
        return;
      }
      const target = list[next++ % list.length]!;
      const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
      const upstream = connect({ host, port });
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        routed.set(target, (routed.get(target) ?? 0) + 1);
        open.add(upstream);
        upstream.on('close', () => open.delete(upstream));
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      upstream.on('error', () => {
        if (!connected) attempt(tries + 1);
        else upstream.destroy();
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    routed,
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
