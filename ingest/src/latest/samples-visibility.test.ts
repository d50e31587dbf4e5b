import { openTestDatabase } from '@clutch/db/testing';
import { describe, expect, it } from 'vitest';

/**
 * The latest-values cache keeps one view per tenant (latest-values.ts), filled by a tenant's own
 * read and fed with each sample under the tenant it was stored with. That is right only while a
 * tenant sees exactly the samples stored under its id. A policy that opens samples more widely (a
 * vehicle shared with a shop, an owner's user id) must come with views keyed the same way.
 */
describe('what the latest-values cache assumes of row-level security on samples', () => {
  it('lets tenant work see exactly the samples stored under its tenant id', async () => {
    const db = await openTestDatabase('pglite', { signals: false });
    try {
      const { rows } = await db.query<{ policyname: string; roles: string[] | string; qual: string | null }>(
        `SELECT policyname, roles, qual FROM pg_policies WHERE tablename = 'samples' AND schemaname = 'public' ORDER BY policyname`,
      );
      const roles = (r: { roles: string[] | string }): string[] =>
        Array.isArray(r.roles) ? r.roles : r.roles.replace(/^\{|\}$/g, '').split(',');
      const forTenants = rows.filter((r) => !roles(r).every((role) => role === 'clutch_system'));
      expect(forTenants.map((r) => r.policyname)).toEqual(['tenant_isolation']);
      expect(forTenants[0]!.qual?.replace(/\s+/g, ' ')).toBe(
        "(tenant_id = current_setting('app.tenant_id'::text, true))",
      );
    } finally {
      await db.close();
    }
  });
});
