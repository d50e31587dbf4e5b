#!/usr/bin/env node
// Installs the system programs the test suite talks to (real PostgreSQL, Redis, Mosquitto, a socat
// PTY pair, Chromium, openssl for the development CA) when they are missing. Debian only; apt does not start services here: the
// tests start each server themselves on a free port.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const needs = [
  {
    pkg: 'postgresql',
    present: () =>
      existsSync('/usr/lib/postgresql') &&
      readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)),
  },
  { pkg: 'redis-server', present: () => onPath('redis-server') },
  { pkg: 'mosquitto', present: () => existsSync('/usr/sbin/mosquitto') || onPath('mosquitto') },
  { pkg: 'socat', present: () => onPath('socat') },
  { pkg: 'openssl', present: () => onPath('openssl') },
  { pkg: 'chromium', present: () => existsSync('/usr/bin/chromium') },
  // PDFs (receipts, invoices, payout statements) embed DejaVu Sans: Latin and Arabic glyphs.
  { pkg: 'fonts-dejavu-core', present: () => existsSync('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf') },
  // A second, independent MQTT client (3.1.1 and 5) for the broker's protocol tests.
  {
    pkg: 'python3-paho-mqtt',
    present: () => spawnSync('python3', ['-c', 'import paho.mqtt.client'], { stdio: 'ignore' }).status === 0,
  },
];

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// PostGIS for the installed server's major version (nearby search; PGlite runs without it).
const pgMajor = () =>
  existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql')
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(a) - Number(b))
        .at(-1)
    : undefined;
const missing = needs.filter((n) => !n.present()).map((n) => n.pkg);
const major = pgMajor() ?? '15';
if (!existsSync(`/usr/share/postgresql/${major}/extension/postgis.control`))
  missing.push(`postgresql-${major}-postgis-3`);
if (missing.length === 0) process.exit(0);

if (process.getuid?.() !== 0 || !onPath('apt-get')) {
  console.error(
    `missing system packages: ${missing.join(' ')}. Install them (Debian: sudo apt-get install -y ${missing.join(' ')}) and run again.`,
  );
  process.exit(1);
}
console.log(`installing ${missing.join(' ')} with apt-get ...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
