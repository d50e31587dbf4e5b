import { openTestDatabase } from '@clutch/db/testing';
import { describe, expect, it } from 'vitest';

/**
 * The latest-values cache keeps one view per tenant (latest-values.ts), filled by a tenant's own
 * read and fed with each sample under the tenant it was stored with. That is right only while a
 * tenant sees exactly the samples stored under its id. A policy that opens samples more widely (a
 * vehicle shared with a shop, an owner's user id) must come with views keyed the same way, or with
 * readers that keep such reads out of the cache.
 *
 * One such policy exists: `shared_access` (migration 029) opens the samples of a vehicle shared with
 * the tenant for telemetry:read. Those are another tenant's vehicles, and the API reads them from
 * the database and never fills a view with them (api/src/telemetry/service.ts, prepareLatest; the
 * test: api/src/vehicles/shared-data.test.ts). A tenant's own vehicles are still seen exactly as
 * stored under its id.
 */
describe('what the latest-values cache assumes of row-level security on samples', () => {
  it('lets tenant work see exactly the samples stored under its tenant id, and shared vehicles besides', async () => {
    const db = await openTestDatabase('pglite', { signals: false });
    try {
      const { rows } = await db.query<{ policyname: string; roles: string[] | string; qual: string | null }>(
        `SELECT policyname, roles, qual FROM pg_policies WHERE tablename = 'samples' AND schemaname = 'public' ORDER BY policyname`,
      );
      const roles = (r: { roles: string[] | string }): string[] =>
        Array.isArray(r.roles) ? r.roles : r.roles.replace(/^\{|\}$/g, '').split(',');
      const forTenants = rows.filter((r) => !roles(r).every((role) => role === 'clutch_system'));
      const qual = (name: string): string | undefined =>
        forTenants.find((r) => r.policyname === name)?.qual?.replace(/\s+/g, ' ');
      expect(forTenants.map((r) => r.policyname)).toEqual(['shared_access', 'tenant_isolation']);
      expect(qual('tenant_isolation')).toBe("(tenant_id = current_setting('app.tenant_id'::text, true))");
      // Only vehicles shared for telemetry:read: the readers above keep these out of the cache.
      expect(qual('shared_access')).toMatch(
        /^\(vehicle_id = ANY \(\(?\s*SELECT rbac_vehicles_shared_for\('telemetry:read'::text\)/,
      );
    } finally {
      await db.close();
    }
  });
});
