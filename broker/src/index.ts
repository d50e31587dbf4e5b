export { createBroker, startBroker, DEFAULT_MAX_PACKET_BYTES, type BrokerOptions, type ListenOptions, type RunningBroker } from './server/broker.js';
export { developmentPolicy, tenantPolicy, DEFAULT_LIMITS, type BrokerPolicy, type Decision, type AuthDecision, type PolicyLimits } from './policy/policy.js';
export { canPublish, canSubscribe } from './policy/topic-acl.js';
export { clientIdAllowed, describePrincipal, type Principal } from './policy/principal.js';
export { createPacketSizeMeter } from './server/packet-size-guard.js';
