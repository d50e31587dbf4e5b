/**
 * Stripe's request encoding: `application/x-www-form-urlencoded` with nested keys, `metadata[k]=v`,
 * `transfer_data[destination]=acct_1`, arrays as `expand[0]=a` or `expand[]=a`. Decoded into plain
 * objects; objects whose keys are all indices become arrays.
 */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

export function decodeForm(text: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const segments = splitKey(rawKey);
    let node: FormObject = root;
    segments.forEach((segment, i) => {
      const key = segment === '' ? String(Object.keys(node).length) : segment;
      if (i === segments.length - 1) {
        node[key] = value;
      } else {
        const next = node[key];
        if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
        node = node[key] as FormObject;
      }
    });
  }
  return arraysFromIndexObjects(root) as FormObject;
}

function splitKey(key: string): string[] {
  const open = key.indexOf('[');
  if (open < 0) return [key];
  const segments = [key.slice(0, open)];
  const pattern = /\[([^\]]*)\]/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(key.slice(open))) !== null) segments.push(match[1] ?? '');
  return segments;
}

function arraysFromIndexObjects(value: FormValue): FormValue {
  if (typeof value === 'string' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const converted: FormObject = {};
  for (const k of keys) converted[k] = arraysFromIndexObjects(value[k] as FormValue);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((k) => converted[k] as FormValue);
  }
  return converted;
}

/** Canonical text of decoded params, so `a=1&b=2` and `b=2&a=1` count as the same request. */
export function canonicalParams(params: FormObject): string {
  const sortKeys = (v: FormValue): unknown =>
    typeof v === 'string'
      ? v
      : Array.isArray(v)
        ? v.map(sortKeys)
        : Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sortKeys(v[k] as FormValue)]),
          );
  return JSON.stringify(sortKeys(params));
}
