import { Counter, Gauge } from 'prom-client';
import { getOrCreateMetric } from '../core/util/index.js';
import type { Registry } from 'prom-client';

/** The broker's Prometheus metrics, registered on the registry it is given (never the default). */
export interface BrokerMetrics {
  readonly connectedClients: Gauge<'type'>;
  readonly authFailures: Counter<'reason'>;
  readonly aclDenied: Counter<'action'>;
  readonly connectionsRefused: Counter<'reason'>;
  readonly publishesRefused: Counter<'reason'>;
  /** Command messages not forwarded because their time-to-live had passed (core/commands.ts). */
  readonly expiredCommandsWithheld: Counter;
  /** CONNECTs waiting for their credential check (credential-gate.ts): above zero for long, a connect storm. */
  readonly credentialChecksWaiting: Gauge;
}

/** `bad_certificate`: a TLS client certificate that does not verify, names no registered device, or another id than the username. */
export type AuthFailureReason = 'missing_credentials' | 'bad_credentials' | 'bad_certificate' | 'will_topic' | 'error';
export type RefusalReason = 'rate_limit' | 'frame_too_large' | 'invalid_string' | 'client_id' | 'unavailable' | 'abandoned';
/**
 * Why a PUBLISH was refused (connection closed without PUBACK, §3.3.5):
 *   unavailable    — the broker is starting or stopping, or nothing would take the message yet
 *                    (no ingest attached; in the `broker` role, no ingest subscription);
 *   ingest_refused — ingest could not take it (spool full or closed, a consumer failed);
 *   retain         — a device asked the broker to retain telemetry;
 *   bad_status     — a device's status was neither `online` nor `offline`.
 */
export type PublishRefusalReason = 'unavailable' | 'ingest_refused' | 'retain' | 'bad_status';
const publishRefusalReasons: readonly PublishRefusalReason[] = ['unavailable', 'ingest_refused', 'retain', 'bad_status'];

/** Every reason present from the start, at 0, so a dashboard can tell "none" from "not exported". */
function zeroed<T extends Counter<string>>(c: T, reasons: readonly string[]): T {
  for (const reason of reasons) c.inc({ reason }, 0);
  return c;
}

export function createBrokerMetrics(registry: Registry): BrokerMetrics {
  // Get-or-create, so that a broker restarted in the same process (tests, a supervisor) keeps
  // counting on the same registry instead of failing with "already registered".
  const gauge = (name: string, help: string, labelNames: string[]) =>
    getOrCreateMetric(registry, name, () => new Gauge({ name, help, labelNames, registers: [registry] }));
  const counter = (name: string, help: string, labelNames: string[]) =>
    getOrCreateMetric(registry, name, () => new Counter({ name, help, labelNames, registers: [registry] }));

  return {
    connectedClients: gauge('anju_broker_connected_clients', 'MQTT connections registered with the broker, by principal type (device|service).', ['type']),
    authFailures: counter('anju_broker_auth_failures_total', 'Refused MQTT CONNECTs, by reason.', ['reason']),
    aclDenied: counter('anju_broker_acl_denied_total', 'PUBLISH or SUBSCRIBE refused by the topic ACL.', ['action']),
    connectionsRefused: counter(
      'anju_broker_connections_refused_total',
      'Connections refused or closed by the broker: rate_limit, frame_too_large, invalid_string (ill-formed UTF-8 or U+0000), client_id, unavailable (CONNACK 3 while starting or stopping), abandoned (the client left before its credentials were checked: not checked).',
      ['reason'],
    ),
    publishesRefused: zeroed(counter(
      'anju_broker_publishes_refused_total',
      'PUBLISHes refused, connection closed without PUBACK so the client resends: unavailable (starting, stopping, no ingest), ingest_refused (spool full), retain, bad_status.',
      ['reason'],
    ), publishRefusalReasons),
    credentialChecksWaiting: getOrCreateMetric(registry, 'anju_broker_credential_checks_waiting', () => new Gauge({
      name: 'anju_broker_credential_checks_waiting',
      help: 'CONNECTs waiting for their credential check (scrypt; a few run at once, in arrival order). Above 0 for long: a connect storm.',
      registers: [registry],
    })),
    expiredCommandsWithheld: getOrCreateMetric(registry, 'anju_broker_expired_commands_withheld_total', () => new Counter({
      name: 'anju_broker_expired_commands_withheld_total',
      help: 'Command messages past their expiresAt not forwarded to a device (mostly from a persistent session\'s offline queue).',
      registers: [registry],
    })),
  };
}
