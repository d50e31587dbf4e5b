export {
  createBroker,
  startBroker,
  DEFAULT_MAX_PACKET_BYTES,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_CLIENT_ID_LENGTH,
  type BrokerOptions,
  type ListenOptions,
  type RunningBroker,
} from './server/broker.js';
export {
  developmentPolicy,
  tenantPolicy,
  DEFAULT_LIMITS,
  type BrokerPolicy,
  type Decision,
  type AuthDecision,
  type PolicyLimits,
  type ClientCertificate,
  type AccessChange,
} from './policy/policy.js';
export { USER_USERNAME } from './policy/user-login.js';
export { createTopicResources, type TopicResources } from './policy/topic-resources.js';
export { canPublish, canSubscribe } from './policy/topic-acl.js';
export { clientIdAllowed, describePrincipal, type Principal } from './policy/principal.js';
export { createPacketSizeMeter } from './server/packet-size-guard.js';
export type { TlsListenerOptions } from './server/tls-listener.js';
export { createDevCa, type DevCaFiles } from './tls/dev-ca.js';
