export { createBroker, startBroker, type BrokerOptions, type ListenOptions, type RunningBroker } from './server/broker.js';
export { developmentPolicy, type BrokerPolicy, type Decision, type AuthDecision } from './policy/policy.js';
