#!/usr/bin/env node
import { pino } from 'pino';
import { ConfigError, loadConfig, USAGE } from './config/config.js';
import { CONSUMER_TENANT, DEMO_TENANT } from './fleet/simulated-fleet.js';
import { demoAccountLines, identityDir, seedDemoAccounts } from './identity/index.js';
import { demoChatLines, seedDemoChat } from './marketplace/demo-chat.js';
import { demoMoneyLines, seedDemoMoney } from './marketplace/demo-money.js';
import { demoShopLines, seedDemoShops } from './marketplace/demo-shops.js';
import { startPlatform } from './platform.js';
import { startRole } from './scale-out/roles.js';

/**
 * A stop that has not finished by then exits anyway. Nothing acknowledged is lost by it: a device's
 * message is acknowledged only once stored (durable hand-off), ingest gives up on the rest within
 * its own deadline (5 s), and the devices resend what was not acknowledged. [MQTT-4.4.0-1]
 */
const STOP_DEADLINE_MS = 15_000;

/** Stops on SIGINT/SIGTERM within STOP_DEADLINE_MS; a second signal exits at once. */
function exitOnSignals(stop: () => Promise<void>, onSignal: (signal: string) => void = () => {}): void {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    onSignal(signal);
    const backstop = setTimeout(() => {
      console.error(
        `shutdown took longer than ${STOP_DEADLINE_MS / 1000} s; exiting (unacknowledged messages are resent by the devices)`,
      );
      process.exit(1);
    }, STOP_DEADLINE_MS);
    backstop.unref();
    stop().then(
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
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

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
    exitOnSignals(() => running.stop());
    return;
  }
  const platform = await startPlatform(config, logger);
  // Before anything else awaits: a signal during the demo seeding must still stop the platform cleanly.
  exitOnSignals(
    () => platform.stop(),
    (signal) => console.log(`\n${signal}: flushing agents and ingest, then stopping ...`),
  );
  const db = config.databaseUrl ? platform.db.location : `PGlite in ${config.dataDir}`;
  console.log(
    `Clutch is running: ${config.vehicles} simulated vehicle(s) from ${platform.fleet.source}; database ${db}.`,
  );
  console.log(
    `MQTT: ${platform.broker.mqttUrl} (WebSocket ${platform.broker.wsUrl ?? 'off'}${platform.broker.mqttsUrl ? `, TLS ${platform.broker.mqttsUrl}` : ''}); API: ${platform.api.url}/api/health`,
  );
  console.log(`Dashboard: ${platform.dashboardUrl}`);
  if (platform.communication.mailboxUrl)
    console.log(
      `Dev mailbox: ${platform.communication.mailboxUrl} (${platform.communication.mailbox ? 'mail and ' : ''}Web Push to local subscriptions, as JSON)`,
    );
  if (!config.requireAuth) {
    // The open demo: accounts to try the sign-in pages with (docs/identity.md).
    const accounts = await seedDemoAccounts(platform.db, {
      dir: identityDir(config.dataDir),
      ownedVehicleTenant: CONSUMER_TENANT,
    });
    // Shops near the simulated cars for the marketplace walk (docs/marketplace.md), printed before the
    // accounts: the accounts stay the last lines (tests wait for them).
    const shops = await seedDemoShops(platform.db, { vehicleTenants: [CONSUMER_TENANT, DEMO_TENANT] });
    for (const line of demoShopLines(shops, platform.api.url)) console.log(line);
    // The money side of the demo (docs/payments.md, "Demo"): tiers, payout accounts, past jobs.
    try {
      const money = await seedDemoMoney(platform.db, shops, {
        payouts: platform.payments.payments.payouts,
        emulated: platform.payments.emulator !== undefined,
      });
      for (const line of demoMoneyLines(money, platform.api.url)) console.log(line);
    } catch (err) {
      // The rest of the demo works without it; say why the money figures are missing.
      console.log(`Demo money not seeded: ${(err as Error).message}`);
    }
    // Communication (README "Communication"): a checked-in car at the demo garage with its chat room.
    try {
      const chat = await seedDemoChat(platform.db, shops);
      for (const line of demoChatLines(chat, platform.api.url)) console.log(line);
    } catch (err) {
      console.log(`Demo chat not seeded: ${(err as Error).message}`);
    }
    for (const line of demoAccountLines(accounts, `${platform.api.url}/api/auth/login`)) console.log(line);
  }
}

main().catch((err: Error & { code?: string }) => {
  if (err.code === 'EADDRINUSE') {
    console.error(`a port is already in use (${err.message}); choose others with --port, --mqtt-port, --mqtt-ws-port`);
  } else {
    console.error(`Clutch failed to start: ${err.stack ?? err.message}`);
  }
  process.exit(1);
});
