import { TLSSocket } from 'node:tls';
import type { Client } from 'aedes';

/**
 * What a device's TLS client certificate says about it, read once per CONNECT. As Mosquitto's
 * `use_identity_as_username`: a certificate that verifies against the configured CA names the
 * device by its subject CN, and no password is needed. The certificate only says who the peer
 * is; the device must still be registered and passes the same ACL as with a password.
 */
export type ClientCertificate =
  | { readonly status: 'none' }
  | { readonly status: 'verified'; readonly commonName: string }
  /** Presented but not trusted (unknown CA, expired, not yet valid) or naming no single CN. */
  | { readonly status: 'refused'; readonly problem: string };

/** The TLS socket under a connection: the connection itself (mqtts), or the upgraded request's (wss). */
function tlsSocketOf(client: Client): TLSSocket | undefined {
  const conn = client.conn as unknown;
  if (conn instanceof TLSSocket) return conn;
  const socket = client.req?.socket as unknown;
  return socket instanceof TLSSocket ? socket : undefined;
}

export function clientCertificateOf(client: Client): ClientCertificate {
  const socket = tlsSocketOf(client);
  if (!socket) return { status: 'none' };
  const cert = socket.getPeerCertificate();
  // An empty object when the client sent none (or none was asked for).
  if (!cert || Object.keys(cert).length === 0) return { status: 'none' };
  if (!socket.authorized) return { status: 'refused', problem: String(socket.authorizationError ?? 'not verified') };
  const cn = cert.subject?.CN as string | string[] | undefined;
  if (typeof cn !== 'string' || cn.length === 0) return { status: 'refused', problem: 'the certificate subject has no single CN' };
  return { status: 'verified', commonName: cn };
}
