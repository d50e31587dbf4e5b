import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('npm start configuration', () => {
  it('uses embedded defaults when nothing is set', () => {
    const c = loadConfig([], {}, '/srv/clutch');
    expect(c).toMatchObject({
      role: 'all',
      httpPort: 3000,
      mqttPort: 1883,
      vehicles: 3,
      databaseUrl: undefined,
      dataDir: '/srv/clutch/data/pglite',
      allowAnonymous: false,
    });
  });

  it('lets flags override the environment', () => {
    const c = loadConfig(
      ['--vehicles', '7', '--port=8080', '--allow-anonymous'],
      { CLUTCH_VEHICLES: '2', PORT: '9000' },
      '/x',
    );
    expect(c).toMatchObject({ vehicles: 7, httpPort: 8080, allowAnonymous: true });
  });

  it('reads the HTTP hardening settings, with defaults that never bother the dashboard', () => {
    expect(loadConfig([], {}, '/x')).toMatchObject({
      allowedHosts: [],
      rateLimit: { enabled: true, perPrincipal: 600, perIp: 1200 },
      maxConnections: 10_000,
      trustProxy: false,
    });
    const c = loadConfig(
      ['--allowed-hosts', 'clutch.example, fleet.example:8443', '--rate-limit=50', '--no-rate-limit', '--trust-proxy'],
      { CLUTCH_RATE_LIMIT_IP: '99', CLUTCH_MAX_CONNECTIONS: '500' },
      '/x',
    );
    expect(c).toMatchObject({
      allowedHosts: ['clutch.example', 'fleet.example:8443'],
      rateLimit: { enabled: false, perPrincipal: 50, perIp: 99 },
      maxConnections: 500,
      trustProxy: true,
    });
  });

  it.each([
    [['--rate-limit', '0'], /--rate-limit must be an integer/],
    [['--vehicles', '-1'], /--vehicles must be an integer/],
    [['--port', 'http'], /PORT must be an integer/],
    [['--role', 'everything'], /--role must be one of/],
    [['--nope'], /unknown option --nope/],
    [['--vehicles'], /--vehicles needs a value/],
  ])('refuses %j with a message naming the setting', (argv, message) => {
    expect(() => loadConfig(argv, {}, '/x')).toThrow(ConfigError);
    expect(() => loadConfig(argv, {}, '/x')).toThrow(message);
  });

  it('matches every service of docker-compose.yml (the production shape)', () => {
    const composeFile = fileURLToPath(new URL('../../../docker-compose.yml', import.meta.url));
    const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string> }>;
    };
    const roles: string[] = [];
    for (const [name, service] of Object.entries(compose.services)) {
      if (!service.command?.[1]?.endsWith('main.js')) continue;
      const config = loadConfig(service.command.slice(2), service.environment ?? {}, '/app');
      expect(config.databaseUrl, name).toMatch(/^postgres:\/\//);
      expect(config.redisUrl, name).toMatch(/^redis:\/\//);
      roles.push(config.role);
    }
    expect(roles.sort()).toEqual(['api', 'api', 'broker', 'broker', 'ingest', 'ingest']);
  });
});
