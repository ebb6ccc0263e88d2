/** The embedded MQTT broker (DESIGN.md §2, §3). */
export { createBroker } from './create-broker.js';
export { createRedisBackplane, redactRedisUrl, type BrokerBackplane } from './backplane.js';
export type { AnjuBroker, BrokerConfig, BrokerDeps, BrokerMessage, DeliveryListener } from './create-broker.js';
export type { CommandSubscribeListener } from './command-audience.js';
export { defaultIngestDelivery, type IngestDelivery } from './admission.js';
export type { InterceptedPublish, PublishInterceptor } from './intercept.js';
export type { PresenceListener } from './presence.js';
export { serviceAccountFromPassword } from './service-account.js';
export { staticServiceAccounts, type BrokerPolicy, type ServiceAccount } from './contracts.js';
export { mayPublish, maySubscribe } from './acl.js';
export { CLIENT_ID_SEPARATOR, clientIdAllowed } from './authenticate.js';
export type { Principal } from './principal.js';
