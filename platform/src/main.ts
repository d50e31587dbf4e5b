#!/usr/bin/env node
import { pino } from 'pino';
import { ConfigError, loadConfig, USAGE } from './config/config.js';
import { startPlatform } from './platform.js';
import { startRole } from './scale-out/roles.js';

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env, process.cwd());
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  // Logs go to stderr as JSON lines; stdout keeps the few lines a person reads.
  const logger = pino({ name: 'clutch', level: config.logLevel }, pino.destination(2));
  if (config.role !== 'all') {
    const running = await startRole(config.role, config, logger);
    console.log(`clutch ${config.role} running: ${running.url}`);
    const stopRole = (): void => {
      void running.stop().then(() => process.exit(0), () => process.exit(1));
    };
    process.on('SIGINT', stopRole);
    process.on('SIGTERM', stopRole);
    return;
  }
  const platform = await startPlatform(config, logger);
  const db = config.databaseUrl ? platform.db.location : `PGlite in ${config.dataDir}`;
  console.log(`Clutch is running: ${config.vehicles} simulated vehicle(s) from ${platform.fleet.source}; database ${db}.`);
  console.log(`MQTT: ${platform.broker.mqttUrl} (WebSocket ${platform.broker.wsUrl ?? 'off'}${platform.broker.mqttsUrl ? `, TLS ${platform.broker.mqttsUrl}` : ''}); API: ${platform.api.url}/api/health`);
  console.log(`Dashboard: ${platform.dashboardUrl}`);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: flushing agents and ingest, then stopping ...`);
    platform.stop().then(
      () => {
        console.log('stopped cleanly');
        process.exit(0);
      },
      (err: Error) => {
        console.error(`shutdown failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: Error & { code?: string }) => {
  if (err.code === 'EADDRINUSE') {
    console.error(`a port is already in use (${err.message}); choose others with --port, --mqtt-port, --mqtt-ws-port`);
  } else {
    console.error(`Clutch failed to start: ${err.stack ?? err.message}`);
  }
  process.exit(1);
});
