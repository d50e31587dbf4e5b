import './provided.js';
export { freePort, waitForPort } from './free-port.js';
export { startPostgresServer, createTestDatabase, type PostgresServer } from './postgres-server.js';
export { startPtyPair, type PtyPair } from './socat.js';
export { startRedisServer, type RedisServer } from './redis-server.js';
export { startMosquittoServer, type MosquittoServer } from './mosquitto-server.js';
export { launchChromium } from './chromium.js';
export { propertyRuns } from './property-runs.js';
export { ensureSystemProgram, MissingSystemPackage } from './system-package.js';
