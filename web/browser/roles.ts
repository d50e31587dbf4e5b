import type { Translator } from '@clutch/i18n';
import { apiRequest, getJson, problemDetail } from './api.js';
import { startPageLocale } from './locale.js';
import { endPlaceholders } from './placeholders.js';
import { startSessionNav } from './session-nav.js';
import { withStepUp } from './step-up.js';

// Shapes of the roles routes (docs/rbac.md, docs/api.md "Roles and vehicle shares").
interface CatalogueEntry {
  name: string;
  description: string;
  status: 'active' | 'planned';
}
type Condition = Record<string, unknown>;
interface Rule {
  permission: string;
  condition: Condition | null;
}
interface Role {
  id: string;
  tenantId: string;
  key: string;
  name: string;
  builtIn: boolean;
  parents: { id: string; key: string }[];
  permissions: Rule[];
}
interface RolePermissions {
  roleId: string;
  permissions: Rule[];
  inherited: (Rule & { from: { id: string; key: string } })[];
}
interface Grant {
  id: string;
  roleId: string;
  roleName: string;
  validUntil: string | null;
  active: boolean;
}

/** Role writes need a recent MFA check: asked for in place when the API says so, then sent again. */
const send = <T>(i18n: Translator, method: string, path: string, body: unknown): Promise<T> =>
  withStepUp(i18n, () => apiRequest<T>(method, path, body));

/** Every item of a paged list (`next` followed to the end; docs/api.md), in the API's order. */
async function allPages<K extends string, T>(path: string, key: K): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  // Bounded: a server that kept answering `next` must not keep the page loading forever.
  for (let pages = 0; pages < 100; pages++) {
    const separator = path.includes('?') ? '&' : '?';
    const page: Record<K, T[]> & { next: string | null } = await getJson(
      cursor === null ? path : `${path}${separator}cursor=${encodeURIComponent(cursor)}`,
    );
    items.push(...page[key]);
    cursor = page.next;
    if (cursor === null) break;
  }
  return items;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}

/** Data (role names, keys, permission names) is not ours to translate. */
function data(tag: 'span' | 'strong', text: string, className?: string): HTMLElement {
  const node = el(tag, text, className);
  node.translate = false;
  return node;
}

async function main(): Promise<void> {
  const i18n: Translator = await startPageLocale();
  void startSessionNav(i18n, { offerSignIn: false });
  const $ = <T extends Element>(testId: string): T => document.querySelector<T>(`[data-testid="${testId}"]`)!;
  const status = $<HTMLElement>('status');
  const error = $<HTMLElement>('error');
  const list = $<HTMLUListElement>('roles');
  const detail = $<HTMLElement>('role-detail');
  const permissionList = $<HTMLUListElement>('permission-list');
  const grants = $<HTMLUListElement>('grants');

  let catalogue: CatalogueEntry[] = [];
  let roles: Role[] = [];
  let selected: Role | undefined;
  let current: RolePermissions | undefined;

  const fail = (err: unknown): void => {
    error.textContent = i18n.t('roles.actionFailed', { detail: problemDetail(err, i18n) });
    error.hidden = false;
  };
  const done = (message: string): void => {
    error.hidden = true;
    status.textContent = message;
  };
  const conditionText = (c: Condition): string =>
    i18n.t('roles.permissions.condition', { ownership: typeof c.ownership === 'string' ? c.ownership : 'other' });

  function renderRoles(): void {
    list.replaceChildren(
      ...roles.map((role) => {
        const button = el('button');
        button.type = 'button';
        button.dataset.roleId = role.id;
        button.setAttribute('aria-pressed', String(role.id === selected?.id));
        button.append(data('strong', role.name), ' ', data('span', role.key, 'role-key'));
        if (role.builtIn) button.append(' ', el('span', i18n.t('roles.builtIn'), 'permission-note'));
        button.addEventListener('click', () => void select(role.id));
        const li = el('li');
        li.append(button);
        return li;
      }),
    );
    $<HTMLSelectElement>('new-parents').replaceChildren(
      ...roles.map((r) => {
        const option = el('option', r.name);
        option.value = r.id;
        return option;
      }),
    );
  }

  function renderPermissions(): void {
    if (!selected || !current) return;
    const own = new Map(current.permissions.map((p) => [p.permission, p]));
    const inherited = new Map<string, RolePermissions['inherited']>();
    for (const p of current.inherited) inherited.set(p.permission, [...(inherited.get(p.permission) ?? []), p]);
    permissionList.replaceChildren(
      ...catalogue.map((entry) => {
        const li = el('li');
        li.dataset.permission = entry.name;
        const box = el('input');
        box.type = 'checkbox';
        box.checked = own.has(entry.name);
        box.disabled = selected!.builtIn;
        box.dataset.permission = entry.name;
        box.setAttribute('aria-label', entry.name);
        box.translate = false;
        const label = el('span');
        const description = el('span', entry.description);
        description.dataset.from = 'api';
        label.append(data('span', entry.name, 'permission-name'), ' ', description);
        const notes: string[] = [];
        const mine = own.get(entry.name);
        if (mine?.condition) notes.push(conditionText(mine.condition));
        for (const from of inherited.get(entry.name) ?? []) {
          const via = i18n.t('roles.permissions.inherited', { role: from.from.key });
          notes.push(from.condition ? `${via} (${conditionText(from.condition)})` : via);
        }
        if (entry.status === 'planned') notes.push(i18n.t('roles.permissions.planned'));
        li.append(box, label);
        if (notes.length > 0) li.append(' ', el('span', notes.join(' · '), 'permission-note'));
        return li;
      }),
    );
    $<HTMLButtonElement>('save-permissions').disabled = selected.builtIn;
  }

  async function select(roleId: string): Promise<void> {
    selected = roles.find((r) => r.id === roleId);
    if (!selected) return;
    renderRoles();
    // Until this role's permissions arrive, the list on screen is the previous role's: saving it now
    // would write those to this role.
    $<HTMLButtonElement>('save-permissions').disabled = true;
    $<HTMLElement>('role-heading').textContent = i18n.t('roles.detail.heading', { role: selected.name });
    current = await getJson<RolePermissions>(`/api/roles/${encodeURIComponent(roleId)}/permissions`);
    detail.hidden = false;
    grants.replaceChildren();
    renderPermissions();
  }

  async function loadRoles(): Promise<void> {
    roles = await allPages<'roles', Role>('/api/roles?limit=500', 'roles');
    renderRoles();
  }

  $<HTMLFormElement>('new-role').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const fields = new FormData(form);
    const parents = [...$<HTMLSelectElement>('new-parents').selectedOptions].map((o) => o.value);
    const tenantId = String(fields.get('tenantId') ?? '').trim();
    send<Role>(i18n, 'POST', '/api/roles', {
      key: fields.get('key'),
      name: fields.get('name'),
      parents,
      ...(tenantId ? { tenantId } : {}),
    })
      .then(async (role) => {
        form.reset();
        await loadRoles();
        await select(role.id);
        done(i18n.t('roles.new.created', { role: role.name }));
      })
      .catch(fail);
  });

  $<HTMLFormElement>('permissions').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!selected || !current) return;
    const keep = new Map(current.permissions.map((p) => [p.permission, p.condition]));
    const chosen = [...permissionList.querySelectorAll<HTMLInputElement>('input[type="checkbox"]:checked')].map(
      (box) => {
        const permission = box.dataset.permission!;
        // A permission that had a condition keeps it; a newly ticked one is given outright.
        const condition = keep.get(permission) ?? null;
        return condition ? { permission, condition } : { permission };
      },
    );
    const role = selected;
    send<RolePermissions>(i18n, 'PUT', `/api/roles/${encodeURIComponent(role.id)}/permissions`, {
      permissions: chosen,
    })
      .then(async () => {
        await select(role.id);
        done(i18n.t('roles.permissions.saved', { role: role.name }));
      })
      .catch(fail);
  });

  $<HTMLFormElement>('grant').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!selected) return;
    const fields = new FormData(event.currentTarget as HTMLFormElement);
    const userId = String(fields.get('userId') ?? '').trim();
    const until = String(fields.get('validUntil') ?? '');
    const role = selected;
    send<Grant>(i18n, 'POST', `/api/users/${encodeURIComponent(userId)}/roles`, {
      roleId: role.id,
      ...(until ? { validUntil: new Date(until).toISOString() } : {}),
    })
      .then(async () => {
        const held = await allPages<'grants', Grant>(`/api/users/${encodeURIComponent(userId)}/roles`, 'grants');
        grants.replaceChildren(
          ...held.map((g) => {
            const text = !g.active
              ? i18n.t('roles.grant.itemEnded', { role: g.roleName })
              : g.validUntil
                ? i18n.t('roles.grant.itemUntil', { role: g.roleName, until: i18n.dateTime(g.validUntil) })
                : i18n.t('roles.grant.itemNoEnd', { role: g.roleName });
            const li = el('li', text);
            li.dataset.roleId = g.roleId;
            return li;
          }),
        );
        done(i18n.t('roles.grant.done', { role: role.name }));
      })
      .catch(fail);
  });

  try {
    catalogue = (await getJson<{ permissions: CatalogueEntry[] }>('/api/permissions')).permissions;
    await loadRoles();
    status.textContent = i18n.t('roles.count', { count: roles.length });
  } catch (err) {
    status.textContent = i18n.t('roles.loadFailed', { detail: problemDetail(err, i18n) });
    status.className = 'error';
  } finally {
    endPlaceholders(list);
  }
}

void main();
