import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { requireBinary, runSync } from './servers.js';

/**
 * Real certificates for TLS tests, made with Debian's `openssl` CLI in a temp dir: a test CA, a
 * server certificate for localhost/127.0.0.1, and device client certificates (CN = device id).
 * EC P-256 keys: fast to make, and what small devices use.
 */
export const openssl = requireBinary('openssl', 'openssl');

export interface Pem {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** SHA-256 fingerprint as Node prints it (`AB:CD:…`). */
  readonly fingerprint: string;
}

function sh(args: string[]): void {
  const r = runSync(openssl.path!, args);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

function pem(certFile: string, keyFile: string): Pem {
  const cert = readFileSync(certFile);
  return { certFile, keyFile, cert, key: readFileSync(keyFile), fingerprint: new X509Certificate(cert).fingerprint256 };
}

export function makeCa(dir: string, name: string): Pem {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '3',
    '-subj', `/O=Anju tests/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return pem(certFile, keyFile);
}

/** A certificate signed by `ca`: `server` for localhost and 127.0.0.1, `client` for a device (CN = its id). */
export function makeCert(dir: string, ca: Pem, name: string, options: { cn: string; use: 'server' | 'client'; days?: number }): Pem {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, options.use === 'server'
    ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n'
    : 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  sh(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/O=Anju tests/CN=${options.cn}`]);
  sh(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`,
    '-out', certFile, '-days', String(options.days ?? 3), '-extfile', ext]);
  return pem(certFile, keyFile);
}

/** The certificate a TLS server presents now (SHA-256 fingerprint), checked against `ca`. */
export function servedFingerprint(port: number, ca: Buffer, extra: ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...extra }, () => {
      const fp = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
      socket.end();
      resolve(fp);
    });
    socket.once('error', reject);
  });
}

/** A TLS handshake's outcome: the protocol agreed, or the error code. */
export function handshake(port: number, options: ConnectionOptions): Promise<{ protocol?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => {
      const protocol = socket.getProtocol() ?? undefined;
      socket.end();
      resolve({ protocol });
    });
    socket.once('error', (err: Error & { code?: string }) => resolve({ error: err.code ?? err.message }));
  });
}

/** fetch over HTTPS trusting `ca` (Node's fetch takes no CA): JSON in, JSON (or text) out. */
export function httpsJson<T = unknown>(url: string, ca: Buffer,
  init: { method?: string; token?: string; body?: unknown } = {}): Promise<{ status: number; body: T; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const req = request(url, {
      method: init.method ?? 'GET', ca, servername: 'localhost', agent: false,
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        const fingerprint = (res.socket as TLSSocket).getPeerX509Certificate?.()?.fingerprint256 ?? '';
        resolve({ status: res.statusCode ?? 0, body: parsed as T, fingerprint });
      });
    });
    req.once('error', reject);
    req.end(body);
  });
}
