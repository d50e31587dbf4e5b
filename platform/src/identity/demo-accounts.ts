import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { recordSecurityEvent } from '@clutch/api';
import type { Database } from '@clutch/db';
import { ensureTenant, hashPassword, insertUser } from '@clutch/identity';

/** The partner organisation the demo shop admin and technician work for. */
export const DEMO_SHOP_TENANT = 'demo-shop';

export interface DemoAccount {
  role: 'owner' | 'shop admin' | 'technician' | 'platform admin';
  email: string;
  password: string;
}

/** `grant`: the built-in role (db/migrations/023_rbac.sql) each account holds. */
const ACCOUNTS: { role: DemoAccount['role']; email: string; name: string; tenant: string; grant: string }[] = [
  { role: 'owner', email: 'owner@demo.clutch.test', name: 'Olivia Owner', tenant: 'consumers', grant: 'owner' },
  {
    role: 'shop admin',
    email: 'shop-admin@demo.clutch.test',
    name: 'Sam Shop',
    tenant: DEMO_SHOP_TENANT,
    grant: 'partner-admin',
  },
  {
    role: 'technician',
    email: 'technician@demo.clutch.test',
    name: 'Tess Technician',
    tenant: DEMO_SHOP_TENANT,
    grant: 'technician',
  },
  {
    role: 'platform admin',
    email: 'admin@demo.clutch.test',
    name: 'Ada Admin',
    tenant: 'platform',
    grant: 'platform-admin',
  },
];

/**
 * Gives the user the built-in role unless they hold it already (idempotent across restarts), and
 * audits a new grant like `POST /api/users/:id/roles` does. Runs before anyone signs in, so no
 * cached policy has to be told (`roles-changed`).
 */
async function grantBuiltInRole(db: Database, email: string, roleKey: string): Promise<void> {
  await db.transaction(async (q) => {
    const { rows } = await q.query<{ user_id: string; tenant_id: string; grant_id: string }>(
      `INSERT INTO role_grants (tenant_id, user_id, role_id, granted_by)
       SELECT u.tenant_id, u.id, r.id, 'demo-seed'
         FROM users u, roles r
        WHERE u.email = $1 AND r.tenant_id = 'platform' AND r.key = $2 AND r.built_in
       ON CONFLICT (user_id, role_id, (coalesce(resource_type, '')), (coalesce(resource_id, ''))) DO NOTHING
       RETURNING user_id::text, tenant_id, id::text AS grant_id`,
      [email, roleKey],
    );
    const granted = rows[0];
    if (granted)
      await recordSecurityEvent(q, {
        actor: 'demo-seed',
        action: 'role.granted',
        target: granted.user_id,
        tenantId: granted.tenant_id,
        outcome: 'success',
        detail: { role: roleKey, grantId: granted.grant_id },
      });
  });
}

/**
 * Demo accounts for `npm start`: created once per data directory with random passwords, which are
 * kept (owner-only) in `<identity dir>/demo-accounts.json` and printed at every start. Random rather
 * than fixed: a demo reachable from a network should not open with a password printed in the docs.
 * Each holds its built-in role (owner, partner-admin and technician of demo-shop, platform-admin); the
 * owner owns the simulated cars of `ownedVehicleTenant` (the consumer tenant).
 */
export async function seedDemoAccounts(
  db: Database,
  options: { dir: string; ownedVehicleTenant: string },
): Promise<DemoAccount[]> {
  const file = path.join(options.dir, 'demo-accounts.json');
  let stored: Record<string, string> = {};
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch {
    // First start of this data directory.
  }
  await ensureTenant(db, DEMO_SHOP_TENANT, 'Demo Repair Shop');
  await db.query(`UPDATE tenants SET kind = 'partner' WHERE id = $1 AND kind <> 'partner'`, [DEMO_SHOP_TENANT]);
  const accounts: DemoAccount[] = [];
  for (const a of ACCOUNTS) {
    const existing = await db.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [a.email]);
    let password = stored[a.email];
    if (existing.rows.length === 0 || password === undefined) {
      password = `demo-${randomBytes(9).toString('base64url')}`;
      const passwordHash = await hashPassword(password);
      if (existing.rows.length === 0) {
        await insertUser(db, {
          tenantId: a.tenant,
          email: a.email,
          displayName: a.name,
          passwordHash,
          status: 'active',
          emailVerifiedAt: new Date(),
        });
      } else {
        await db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [existing.rows[0]!.id, passwordHash]);
      }
      stored[a.email] = password;
    }
    accounts.push({ role: a.role, email: a.email, password });
  }
  mkdirSync(options.dir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  for (const a of ACCOUNTS) await grantBuiltInRole(db, a.email, a.grant);
  // The owner owns the simulated cars of the consumer tenant (simulatedCarTenant); a car somebody
  // else owns (another restart's owner, a registered user) is left alone.
  await db.query(
    `UPDATE vehicles v SET owner_user_id = (SELECT id FROM users WHERE email = $2)
       FROM devices d
      WHERE d.vehicle_id = v.id AND d.tenant_id = $1 AND v.tenant_id = $1 AND d.id LIKE 'sim-%'
        AND v.owner_user_id IS NULL`,
    [options.ownedVehicleTenant, ACCOUNTS[0]!.email],
  );
  return accounts;
}

/** The lines `npm start` prints. */
export function demoAccountLines(accounts: readonly DemoAccount[], signInUrl: string): string[] {
  const width = Math.max(...accounts.map((a) => a.role.length));
  return [
    `Demo accounts (sign in with POST ${signInUrl}; passwords are random per data directory):`,
    ...accounts.map((a) => `  ${a.role.padEnd(width)}  ${a.email}  ${a.password}`),
  ];
}
