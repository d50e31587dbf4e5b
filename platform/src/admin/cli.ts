import { recordSecurityEvent } from '@clutch/api';
import type { Queryable } from '@clutch/db';
import { insertUser, issueAccountToken, normaliseEmail } from '@clutch/identity';
import type { CliOutput } from '../audit/cli.js';
import { LEDGER_USAGE, ledgerCli } from './ledger.js';
import { openExistingDatabase } from '../config/open-existing.js';
import { answerHelp } from '../cli/help.js';

export const ADMIN_USAGE = `usage: clutch-admin create-admin --email ADDRESS [--name NAME] [--public-url URL]
                    [--database-url URL | --data-dir DIR]
  Creates a platform administrator (tenant "platform", role platform-admin) on a real deployment and
  prints a one-time link (valid 7 days) where they choose their password; nothing is mailed, so it
  works before SMTP is set up. The database is the platform's: DATABASE_URL / --database-url, else the
  PGlite directory (CLUTCH_DATA_DIR / --data-dir, default ./data/pglite; stop the platform first).
  The link's base is --public-url, else CLUTCH_PUBLIC_URL. The creation is written to the audit log
  (actor "cli"). Exit status: 0 created, 1 refused (address taken), 2 bad usage or no database.
${LEDGER_USAGE.replace('usage: ', '')}`;

interface AdminArgs {
  email: string;
  name: string;
  publicUrl: string;
  rest: string[];
}

/** Takes this command's own options out of argv; the rest are the platform's (database location). */
function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): AdminArgs | string {
  let email: string | undefined;
  let name: string | undefined;
  let publicUrl = env.CLUTCH_PUBLIC_URL?.trim() || undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === '--email') email = value();
    else if (flag === '--name') name = value();
    else if (flag === '--public-url') publicUrl = value();
    else rest.push(arg);
  }
  if (!email) return 'give --email';
  const normalised = normaliseEmail(email);
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(normalised) || normalised.length > 254)
    return `${JSON.stringify(email)} is not an email address`;
  if (!publicUrl) return 'give --public-url (or set CLUTCH_PUBLIC_URL): the link must point at the deployment';
  if (!/^https?:\/\/[^/\s]+/.test(publicUrl)) return `--public-url ${JSON.stringify(publicUrl)} is not an http(s) URL`;
  const displayName = (name ?? normalised.split('@')[0]!).trim().slice(0, 100);
  return { email: normalised, name: displayName, publicUrl: publicUrl.replace(/\/+$/, ''), rest };
}

/** The platform administrator, invited: the user, the built-in role granted, an invitation token. */
async function createAdmin(q: Queryable, args: AdminArgs): Promise<{ userId: string; token: string } | null> {
  const user = await insertUser(q, {
    tenantId: 'platform',
    email: args.email,
    displayName: args.name,
    passwordHash: null,
    status: 'invited',
  });
  if (!user) return null;
  const { rowCount } = await q.query(
    `INSERT INTO role_grants (tenant_id, user_id, role_id, granted_by)
     SELECT 'platform', $1, id, 'cli' FROM roles WHERE tenant_id = 'platform' AND key = 'platform-admin' AND built_in`,
    [user.id],
  );
  if (rowCount !== 1) throw new Error('the built-in platform-admin role is missing: is the database migrated?');
  const token = await issueAccountToken(q, { userId: user.id, tenantId: 'platform', purpose: 'invitation' });
  await recordSecurityEvent(q, {
    actor: 'cli',
    action: 'user.invite',
    target: `user:${user.id}`,
    tenantId: 'platform',
    outcome: 'success',
    detail: { email: args.email, roles: ['platform-admin'], via: 'clutch-admin create-admin' },
  });
  await recordSecurityEvent(q, {
    actor: 'cli',
    action: 'role.granted',
    target: `user:${user.id}`,
    tenantId: 'platform',
    outcome: 'success',
    detail: { role: 'platform-admin' },
  });
  return { userId: user.id, token };
}

/** `clutch-admin <command> [options]`; resolves to the exit status. */
export async function adminCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  io: CliOutput,
): Promise<number> {
  const [command, ...options] = argv;
  const help = answerHelp(command, ADMIN_USAGE, io);
  if (help !== undefined) return help;
  if (command === 'ledger') return ledgerCli(options, env, cwd, io);
  if (command !== 'create-admin') {
    io.err(`unknown command ${JSON.stringify(command)}\n${ADMIN_USAGE}`);
    return 2;
  }
  const args = parseArgs(options, env);
  if (typeof args === 'string') {
    io.err(`${args}\n${ADMIN_USAGE}`);
    return 2;
  }
  // A deployment updated since its last start: the same migrations and storage preparation as every start.
  const opened = await openExistingDatabase(args.rest, env, cwd, io, { maxConnections: 1, prepare: 'storage' });
  if (typeof opened === 'number') return opened;
  const { db } = opened;
  try {
    const created = await db.transaction((q) => createAdmin(q, args));
    if (!created) {
      io.err(`${args.email} already has an account; grant it platform-admin through the roles API instead`);
      return 1;
    }
    io.out(`created platform administrator ${args.email} (user ${created.userId})`);
    io.out(
      `one-time link, valid 7 days, to choose a password: ${args.publicUrl}/signin.html?invitation=${created.token}`,
    );
    return 0;
  } finally {
    await db.close();
  }
}
