import type { Client } from 'aedes';
import type { ServiceAccount } from './contracts.js';

/**
 * Who is behind an authenticated connection. Set by `authenticate` on the Aedes client object,
 * read by the ACL, presence and metrics, so none of them re-derive identity from the username.
 */
export type Principal =
  | { readonly kind: 'device'; readonly deviceId: string }
  | { readonly kind: 'service'; readonly account: ServiceAccount };

// A symbol, not a string property: it cannot collide with Aedes's own fields, and nothing
// outside this module can forge it.
const PRINCIPAL = Symbol('anju.broker.principal');

type WithPrincipal = { [PRINCIPAL]?: Principal };

export function setPrincipal(client: Client, principal: Principal): void {
  (client as unknown as WithPrincipal)[PRINCIPAL] = principal;
}

/** Undefined for a connection that has not (yet) authenticated. */
export function principalOf(client: Client | null | undefined): Principal | undefined {
  return client ? (client as unknown as WithPrincipal)[PRINCIPAL] : undefined;
}

/** For logs: the device id or the service account username. Never anything secret. */
export function principalName(principal: Principal): string {
  return principal.kind === 'device' ? principal.deviceId : principal.account.username;
}
