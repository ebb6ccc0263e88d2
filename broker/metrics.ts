import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** The broker's Prometheus metrics, registered on the registry it is given (never the default). */
export interface BrokerMetrics {
  readonly connectedClients: Gauge<'type'>;
  readonly authFailures: Counter<'reason'>;
  readonly aclDenied: Counter<'action'>;
  readonly connectionsRefused: Counter<'reason'>;
  readonly publishesRefused: Counter<string>;
}

export type AuthFailureReason = 'missing_credentials' | 'bad_credentials' | 'will_topic' | 'error';
export type RefusalReason = 'rate_limit' | 'frame_too_large' | 'client_id';

export function createBrokerMetrics(registry: Registry): BrokerMetrics {
  // Get-or-create, so that a broker restarted in the same process (tests, a supervisor) keeps
  // counting on the same registry instead of failing with "already registered".
  const gauge = (name: string, help: string, labelNames: string[]) =>
    (registry.getSingleMetric(name) as Gauge<string> | undefined) ?? new Gauge({ name, help, labelNames, registers: [registry] });
  const counter = (name: string, help: string, labelNames: string[]) =>
    (registry.getSingleMetric(name) as Counter<string> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });

  return {
    connectedClients: gauge('anju_broker_connected_clients', 'MQTT connections registered with the broker, by principal type (device|service).', ['type']),
    authFailures: counter('anju_broker_auth_failures_total', 'Refused MQTT CONNECTs, by reason.', ['reason']),
    aclDenied: counter('anju_broker_acl_denied_total', 'PUBLISH or SUBSCRIBE refused by the topic ACL.', ['action']),
    connectionsRefused: counter(
      'anju_broker_connections_refused_total',
      'Connections closed by broker limits: rate_limit, frame_too_large, client_id.',
      ['reason'],
    ),
    publishesRefused: counter(
      'anju_broker_publishes_refused_total',
      'PUBLISHes ingest could not take (e.g. spool quota full): connection closed without PUBACK so the client resends.',
      [],
    ),
  };
}
