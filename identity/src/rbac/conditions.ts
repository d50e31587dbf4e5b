import { rbacError } from './errors.js';

/**
 * The closed language of conditions a role's permission can carry. It is data (stored as jsonb,
 * validated by `parseCondition` wherever it enters), evaluated by the policy function; there is no
 * way to write code in it.
 *
 * - `{ ownership: 'vehicle' }`: the resource is a vehicle the subject owns, or one shared with the
 *   subject in person (a share naming the user, still valid, covering the permission asked for).
 * - `{ ownership: 'booking' }`: the resource is a booking of the subject (its `ownerUserId`), or a
 *   record hanging off one (repair order, estimate, parts order, review: policy.ts BOOKING_FAMILY).
 * - `{ ownership: 'shop' }`: bound to a shop, the resource's `shopId` is that shop; unbound, the
 *   resource belongs to the subject's own organisation (its tenant), whichever of its shops.
 * - `{ attribute: 'vehicle.tenantId', equals: 'subject.tenantId' }`: two paths hold equal values.
 * - `{ attribute: 'vehicle.make', value: 'Volvo' }`: a path holds a literal.
 * - `{ attribute: 'booking.status', in: ['open', 'confirmed'] }`: a path holds one of the literals.
 * - `{ all: [...] }`, `{ any: [...] }`: every one / at least one of the conditions.
 *
 * A path is `subject.<field>` (userId, tenantId, tenantKind), `resource.<field>` or
 * `<resource type>.<field>` (which is false for a resource of another type). Resource fields are
 * id, type, tenantId, ownerUserId, shopId, else the resource's `attributes`. A missing value never
 * equals anything, not even another missing value.
 */
export type Condition =
  | { readonly ownership: Ownership }
  | { readonly attribute: string; readonly equals: string }
  | { readonly attribute: string; readonly value: Literal }
  | { readonly attribute: string; readonly in: readonly Literal[] }
  | { readonly all: readonly Condition[] }
  | { readonly any: readonly Condition[] };

export const OWNERSHIPS = ['vehicle', 'booking', 'shop'] as const;
export type Ownership = (typeof OWNERSHIPS)[number];
export type Literal = string | number | boolean;

export const SUBJECT_FIELDS = ['userId', 'tenantId', 'tenantKind'] as const;

/** Bounds that keep a stored condition small and its evaluation cheap. */
const MAX_DEPTH = 4;
const MAX_ITEMS = 16;
const MAX_LITERAL = 200;
const PATH = /^([a-z][a-z0-9-]{0,31})\.([a-zA-Z][a-zA-Z0-9]{0,63})$/;

function invalid(reason: string, at: string): never {
  throw rbacError('INVALID_CONDITION', { reason, at });
}

function checkPath(path: unknown, at: string): string {
  if (typeof path !== 'string') invalid('a path must be a string like "vehicle.tenantId"', at);
  const match = PATH.exec(path);
  if (!match) invalid(`"${path}" is not a path like "vehicle.tenantId" or "subject.userId"`, at);
  if (match[1] === 'subject' && !(SUBJECT_FIELDS as readonly string[]).includes(match[2]!))
    invalid(`subject has no field ${match[2]} (${SUBJECT_FIELDS.join(', ')})`, at);
  return path;
}

function checkLiteral(value: unknown, at: string): Literal {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.length <= MAX_LITERAL) return value;
  return invalid(`a literal is a boolean, a finite number or a string of at most ${MAX_LITERAL} characters`, at);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function keysAre(obj: Record<string, unknown>, expected: readonly string[], at: string): void {
  const keys = Object.keys(obj).sort();
  const want = [...expected].sort();
  if (keys.length !== want.length || keys.some((k, i) => k !== want[i]))
    invalid(`expected exactly the members ${want.join(', ')}; got ${keys.join(', ') || 'none'}`, at);
}

function parseAt(raw: unknown, at: string, depth: number): Condition {
  if (!isRecord(raw)) invalid('a condition is an object', at);
  if (depth > MAX_DEPTH) invalid(`conditions nest at most ${MAX_DEPTH} deep`, at);
  if ('ownership' in raw) {
    keysAre(raw, ['ownership'], at);
    if (!(OWNERSHIPS as readonly unknown[]).includes(raw.ownership))
      invalid(`ownership is one of ${OWNERSHIPS.join(', ')}`, `${at}/ownership`);
    return { ownership: raw.ownership as Ownership };
  }
  if ('all' in raw || 'any' in raw) {
    const op = 'all' in raw ? 'all' : 'any';
    keysAre(raw, [op], at);
    const list = raw[op];
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_ITEMS)
      invalid(`${op} is a list of 1 to ${MAX_ITEMS} conditions`, `${at}/${op}`);
    const items = list.map((c, i) => parseAt(c, `${at}/${op}/${i}`, depth + 1));
    return op === 'all' ? { all: items } : { any: items };
  }
  if ('attribute' in raw) {
    const attribute = checkPath(raw.attribute, `${at}/attribute`);
    if ('equals' in raw) {
      keysAre(raw, ['attribute', 'equals'], at);
      return { attribute, equals: checkPath(raw.equals, `${at}/equals`) };
    }
    if ('value' in raw) {
      keysAre(raw, ['attribute', 'value'], at);
      return { attribute, value: checkLiteral(raw.value, `${at}/value`) };
    }
    if ('in' in raw) {
      keysAre(raw, ['attribute', 'in'], at);
      if (!Array.isArray(raw.in) || raw.in.length === 0 || raw.in.length > MAX_ITEMS)
        invalid(`in is a list of 1 to ${MAX_ITEMS} literals`, `${at}/in`);
      return { attribute, in: raw.in.map((v, i) => checkLiteral(v, `${at}/in/${i}`)) };
    }
    invalid('an attribute condition has one of equals (a path), value (a literal) or in (literals)', at);
  }
  return invalid('a condition has ownership, attribute, all or any', at);
}

/** Validates a condition from outside (a request body, a stored row); throws INVALID_CONDITION. */
export function parseCondition(raw: unknown): Condition {
  return parseAt(raw, '', 0);
}

/** A stable text form: two conditions are the same rule when their keys are equal. */
export function conditionKey(condition: Condition | null): string {
  if (condition === null) return '';
  return JSON.stringify(condition, (_k, v: unknown) =>
    isRecord(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}
