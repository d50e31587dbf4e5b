import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export class MissingSystemPackage extends Error {}

/**
 * The path of a system program, installing its Debian package first when it is missing and we may
 * (root with apt-get, as on CI and the developers' machines); otherwise a clear error naming the
 * command to run, never a spawn ENOENT stack trace. apt does not start services here: callers start
 * the program themselves.
 */
export function ensureSystemProgram(program: { candidates: readonly string[]; debianPackage: string }): string {
  const found = (): string | undefined =>
    program.candidates.find((c) =>
      c.includes('/') ? existsSync(c) : spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' }).status === 0,
    );
  const present = found();
  if (present) return present;
  const command = `apt-get install -y ${program.debianPackage}`;
  const canInstall =
    process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!canInstall)
    throw new MissingSystemPackage(`${program.candidates[0]} is not installed; install it with: sudo ${command}`);
  console.error(`installing ${program.debianPackage} with apt-get ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', program.debianPackage], {
    stdio: 'inherit',
    env,
  });
  const installed = found();
  if (!installed)
    throw new MissingSystemPackage(
      `${program.debianPackage} was installed but ${program.candidates[0]} is still missing`,
    );
  return installed;
}
