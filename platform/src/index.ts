// The platform as a library: what `npm start` runs, for benchmarks and embedding.
export { startPlatform, type RunningPlatform } from './platform.js';
export { loadConfig, ConfigError, type PlatformConfig } from './config/config.js';
export { ensureDevice, type ProvisionedDevice } from './fleet/provision.js';
export { createRedisBus, EVENTS_CHANNEL } from './scale-out/redis-bus.js';
