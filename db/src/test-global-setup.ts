import type { TestProject } from 'vitest/node';
import { warmTestTemplates } from './testing.js';

/**
 * Vitest global setup (after test-support's, which starts the PostgreSQL server): the migrated
 * database templates, made once for the whole run (db/src/test-templates.ts).
 */
export async function setup(project: TestProject): Promise<void> {
  await warmTestTemplates(project.getProvidedContext().pgAdminUrl);
}
