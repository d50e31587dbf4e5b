import type { TestProject } from 'vitest/node';
import { startPostgresServer, type PostgresServer } from './postgres-server.js';

import './provided.js';

let server: PostgresServer | undefined;

/** One real PostgreSQL server per test run; each test file creates its own database on it. */
export async function setup(project: TestProject): Promise<void> {
  server = await startPostgresServer();
  project.provide('pgAdminUrl', server.adminUrl);
}

export async function teardown(): Promise<void> {
  server?.destroy();
}
