import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_KEY_SCOPES } from '../api-keys/api-keys.js';
import { BUILT_IN_ROLES } from './built-in-roles.js';
import { isPermission, PERMISSION_NAMES, PERMISSIONS, SHAREABLE_PERMISSIONS } from './permissions.js';

const doc = readFileSync(new URL('../../../docs/rbac.md', import.meta.url), 'utf8');

describe('the permission catalogue', () => {
  it('names every permission resource:action, API-key scopes and shareable permissions included', () => {
    for (const name of PERMISSION_NAMES) expect(name).toMatch(/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/);
    for (const scope of [...API_KEY_SCOPES, ...SHAREABLE_PERMISSIONS]) expect(isPermission(scope), scope).toBe(true);
    expect(isPermission('vehicles:fly')).toBe(false);
    expect(isPermission('toString')).toBe(false);
  });

  it('is documented in docs/rbac.md, each permission with its description, and every built-in role', () => {
    const missing = PERMISSION_NAMES.filter(
      (name) => !doc.includes(`| \`${name}\` | ${PERMISSIONS[name].description} |`),
    );
    expect(missing).toEqual([]);
    for (const role of BUILT_IN_ROLES) expect(doc).toContain(`| \`${role.key}\` |`);
  });
});
