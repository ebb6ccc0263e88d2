import { unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { createHash, X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { tlsServerOptions } from '../broker/listeners.js';
import type { TlsConfig } from '../core/config.js';
import { createSerialQueue } from '../core/util/index.js';

/**
 * The certificate, key and client CA behind every TLS listener (MQTT/TLS, MQTT/WSS, HTTPS), read
 * from their PEM files at start-up and again on SIGHUP or when a file changes (certbot, cert-manager
 * and acme.sh replace them in place or swap a symlink). A reload that fails — a key that does not
 * match its certificate, half-written files — keeps the certificate in force and says so; the
 * listeners take a good one with `setSecureContext`, so no connected device is dropped.
 */
export interface TlsMaterial {
  /** The PEM in force. */
  readonly context: SecureContextOptions;
  /** Told each certificate that replaces the one in force. */
  onReload(listener: (context: SecureContextOptions) => void): void;
  /** Reads the files again; true when a new certificate is now in force. */
  reload(trigger: 'sighup' | 'file_change'): Promise<boolean>;
  stop(): void;
}

/** certbot writes the certificate and the key one after the other: wait for both. */
const SETTLE_MS = 250;
/** Warn this long before the certificate expires (Let's Encrypt renews at 30 days left). */
const EXPIRY_WARNING_MS = 14 * 86_400_000;

export async function loadTlsMaterial(config: TlsConfig, deps: { logger: Logger; metrics: Registry; signals?: NodeJS.EventEmitter }): Promise<TlsMaterial> {
  const logger = deps.logger.child({ part: 'tls' });
  const signals = deps.signals ?? process;
  const reloads = new Counter({
    name: 'anju_tls_reloads_total', help: 'Certificate reloads (SIGHUP or a changed file), by result: ok, unchanged, failed (the previous certificate stays in force).',
    labelNames: ['result'], registers: [deps.metrics],
  });
  const expiry = new Gauge({ name: 'anju_tls_certificate_expiry_timestamp_seconds', help: 'When the certificate in force expires (Unix time): alert well before it.', registers: [deps.metrics] });

  const read = async (): Promise<{ context: SecureContextOptions; validTo: Date; fingerprint: string; digest: string }> => {
    const [cert, key, ca] = await Promise.all([
      readFile(config.certFile), readFile(config.keyFile), config.caFile ? readFile(config.caFile) : Promise.resolve(undefined),
    ]);
    const context: SecureContextOptions = { cert, key, ...(ca ? { ca } : {}) };
    // Throws on unreadable PEM or a key that does not match the certificate, before any listener sees it.
    createSecureContext({ ...context, minVersion: 'TLSv1.2' });
    const leaf = new X509Certificate(cert);
    const digest = createHash('sha256').update(cert).update(key).update(ca ?? '').digest('hex');
    return { context, validTo: new Date(leaf.validTo), fingerprint: leaf.fingerprint256, digest };
  };

  let current: Awaited<ReturnType<typeof read>>;
  try {
    current = await read();
  } catch (err) {
    throw new Error(`cannot use the TLS certificate ${config.certFile} and key ${config.keyFile}${config.caFile ? ` (CA ${config.caFile})` : ''}: ${(err as Error).message}. Fix the files or unset ANJU_TLS_CERT and ANJU_TLS_KEY.`);
  }
  const announce = () => {
    expiry.set(current.validTo.getTime() / 1000);
    const left = current.validTo.getTime() - Date.now();
    const fields = { certFile: config.certFile, validTo: current.validTo.toISOString(), fingerprint: current.fingerprint };
    if (left <= 0) logger.error(fields, 'the TLS certificate has expired: clients will refuse it; renew it (the files are re-read on SIGHUP or change)');
    else if (left < EXPIRY_WARNING_MS) logger.warn(fields, 'the TLS certificate expires within 14 days: renew it');
    else logger.info(fields, 'TLS certificate in force');
  };
  announce();

  const listeners: Array<(context: SecureContextOptions) => void> = [];
  const reloadsInOrder = createSerialQueue();
  const reload = (trigger: 'sighup' | 'file_change'): Promise<boolean> =>
    reloadsInOrder.run(async () => {
      try {
        const next = await read();
        if (next.digest === current.digest) {
          reloads.inc({ result: 'unchanged' });
          logger.info({ trigger }, 'TLS files re-read: the certificate is unchanged');
          return false;
        }
        current = next;
        for (const listener of listeners) listener(next.context);
        reloads.inc({ result: 'ok' });
        logger.info({ trigger }, 'TLS certificate reloaded; connected clients keep their sessions');
        announce();
        return true;
      } catch (err) {
        reloads.inc({ result: 'failed' });
        logger.error({ trigger, err: (err as Error).message }, 'TLS reload failed: the previous certificate stays in force; fix the files and send SIGHUP');
        return false;
      }
    });

  const onSighup = () => void reload('sighup');
  signals.on('SIGHUP', onSighup);
  let settle: NodeJS.Timeout | undefined;
  const onChange = () => {
    clearTimeout(settle);
    settle = setTimeout(() => void reload('file_change'), SETTLE_MS);
  };
  const files = [config.certFile, config.keyFile, ...(config.caFile ? [config.caFile] : [])];
  // Polling (stat), not inotify: it follows a swapped symlink and works on every mount.
  for (const file of files) watchFile(file, { interval: config.reloadIntervalMs, persistent: false }, onChange);

  return {
    get context() { return current.context; },
    onReload: (listener) => { listeners.push(listener); },
    reload,
    stop() {
      signals.off('SIGHUP', onSighup);
      clearTimeout(settle);
      for (const file of files) unwatchFile(file, onChange);
    },
  };
}

export interface HttpsListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The API and control room over HTTPS: the same Fastify routes (`app.routing`) behind a Node
 * https server, with the same minimum TLS version as the broker. No client certificate is asked
 * for: the API authenticates with bearer tokens.
 */
export async function listenHttps(host: string, port: number, material: TlsMaterial, routing: RequestListener): Promise<HttpsListener> {
  const { ca: _ca, ...serverContext } = material.context;
  void _ca;
  const server = createHttpsServer(tlsServerOptions(serverContext, 'none'), routing);
  server.on('tlsClientError', () => undefined);
  material.onReload(({ ca: _unused, ...context }) => server.setSecureContext(context));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // SSE streams never end on their own.
      server.closeAllConnections();
      await closed;
    },
  };
}
