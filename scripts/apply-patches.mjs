#!/usr/bin/env node
// Applies scripts/patches/*.patch to the installed dependencies (run by the root `postinstall`; see
// scripts/patches/README.md). A patch is named `<package>-<version>-<owner>-<what>.patch` and holds
// paths relative to the package's own folder (`a/lib/write.js`). The package is found the way Node
// finds it from every workspace that depends on it (hoisted or not), and its installed version must be
// the one in the name. Idempotent: a patch already in place (its reverse applies) is skipped. Anything
// else that does not apply stops the install with an error, so a changed dependency cannot slip by.
// Uses `git apply` (git is there wherever the repository was cloned), or `patch` when git is not.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const folder = join(root, 'scripts', 'patches');
const NAME = /^(@?[a-z0-9._-]+?)-(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+?)?)-([a-z0-9]+-.+)\.patch$/;

const hasGit = spawnSync('git', ['--version'], { stdio: 'ignore' }).status === 0;

/** Every installed copy of `name` a workspace (or the root) would load. */
function installedCopies(name) {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const places = [root, ...(manifest.workspaces ?? []).map((w) => join(root, w))];
  const copies = new Set();
  for (const place of places) {
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(join(place, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    const deps = { ...pkg.dependencies, ...pkg.devDependencies };
    if (!(name in deps)) continue;
    const dir = packageFolder(place, name);
    if (dir) copies.add(dir);
  }
  return [...copies];
}

/** The folder of `name` as loaded from `place` (its `exports` may hide package.json, so walk up from its entry). */
function packageFolder(place, name) {
  let entry;
  try {
    entry = createRequire(join(place, 'package.json')).resolve(name);
  } catch {
    return undefined; // not installed for this workspace (e.g. an optional or pruned dependency)
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === name) return dir;
    } catch {
      // no package.json here: keep walking up
    }
  }
  return undefined;
}

/** Runs the patch tool in the package folder; git must not find this repository above it. */
function run(dir, file, { reverse = false, check = false }) {
  if (hasGit) {
    const args = ['apply', '-p1', ...(reverse ? ['-R'] : []), ...(check ? ['--check'] : []), file];
    return spawnSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, GIT_CEILING_DIRECTORIES: dirname(dir) },
    });
  }
  const args = ['-p1', '--batch', '--forward', '--silent', ...(reverse ? ['-R'] : []), ...(check ? ['--dry-run'] : [])];
  return spawnSync('patch', [...args, '-i', file], { cwd: dir, encoding: 'utf8' });
}

let failed = false;
const fail = (message) => {
  console.error(`apply-patches: ${message}`);
  failed = true;
};
for (const name of readdirSync(folder)
  .filter((n) => n.endsWith('.patch'))
  .sort()) {
  const match = NAME.exec(name);
  if (!match) {
    fail(`${name}: not named <package>-<version>-<owner>-<what>.patch`);
    continue;
  }
  const [, pkgName, version] = match;
  const file = join(folder, name);
  const copies = installedCopies(pkgName);
  if (copies.length === 0) fail(`${name}: ${pkgName} is not installed`);
  for (const dir of copies) {
    const installed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
    if (installed !== version) {
      fail(`${name}: ${dir} is ${pkgName}@${installed}, the patch is for ${version}; redo the patch`);
      continue;
    }
    if (run(dir, file, { reverse: true, check: true }).status === 0) {
      console.log(`apply-patches: ${name} already applied in ${dir}`);
      continue;
    }
    const checked = run(dir, file, { check: true });
    if (checked.status !== 0) {
      fail(`${name} does NOT apply to ${dir}\n${checked.stdout}${checked.stderr}`);
      continue;
    }
    const applied = run(dir, file, {});
    if (applied.status !== 0) fail(`${name} failed while applying to ${dir}\n${applied.stdout}${applied.stderr}`);
    else console.log(`apply-patches: ${name} applied in ${dir}`);
  }
}
if (failed) process.exit(1);
