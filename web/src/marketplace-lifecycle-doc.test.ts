import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// docs/marketplace.md draws the repair-order lifecycle as a mermaid state diagram. The diagram is
// generated from the one place the lifecycle is written (api/src/repair-orders/lifecycle.ts) and this
// test fails when the two disagree; its message is the diagram to paste, and
// `UPDATE_DOCS=1 npx vitest run web/src/marketplace-lifecycle-doc.test.ts` writes it into the doc.
const DOC = fileURLToPath(new URL('../../docs/marketplace.md', import.meta.url));
// Imported by path at run time: the lifecycle is not part of @clutch/api's public entry point, and the
// web package's compiled sources may not reach into another package's.
const LIFECYCLE = fileURLToPath(new URL('../../api/src/repair-orders/lifecycle.ts', import.meta.url));

interface Transition {
  from: string;
  to: string;
  sides: readonly string[];
  guard?: string;
}

/** The mermaid block for the lifecycle: every state, every allowed move labelled with who makes it. */
export function lifecycleMermaid(statuses: readonly string[], transitions: readonly Transition[]): string {
  const lines = ['stateDiagram-v2', `    [*] --> ${statuses[0]}`];
  for (const t of transitions) {
    const guard = t.guard === 'work_approved' ? ' (after approved work)' : t.guard ? ` (${t.guard})` : '';
    lines.push(`    ${t.from} --> ${t.to}: ${t.sides.join(', ')}${guard}`);
  }
  for (const s of statuses) if (!transitions.some((t) => t.from === s)) lines.push(`    ${s} --> [*]`);
  return lines.join('\n');
}

const BLOCK = /(<!-- lifecycle:start -->\n```mermaid\n)([\s\S]*?)(\n```\n<!-- lifecycle:end -->)/;

function documented(): string {
  const m = BLOCK.exec(readFileSync(DOC, 'utf8'));
  if (!m) throw new Error('docs/marketplace.md has no lifecycle block between <!-- lifecycle:start/end --> markers');
  return m[2]!;
}

describe('the lifecycle diagram in docs/marketplace.md', () => {
  it('is the one api/src/repair-orders/lifecycle.ts defines', async () => {
    const lifecycle = (await import(LIFECYCLE)) as {
      REPAIR_ORDER_STATUSES: readonly string[];
      TRANSITIONS: readonly Transition[];
    };
    const expected = lifecycleMermaid(lifecycle.REPAIR_ORDER_STATUSES, lifecycle.TRANSITIONS);
    if (process.env.UPDATE_DOCS === '1')
      writeFileSync(
        DOC,
        readFileSync(DOC, 'utf8').replace(BLOCK, (_m, start: string, _old, end: string) => start + expected + end),
      );
    expect(documented(), `docs/marketplace.md's lifecycle diagram is stale; it should be:\n${expected}\n`).toBe(
      expected,
    );
  });

  it('would notice a move the code does not have, or a move the code added', () => {
    const statuses = ['requested', 'confirmed', 'cancelled'];
    const code: Transition[] = [
      { from: 'requested', to: 'confirmed', sides: ['shop'] },
      { from: 'requested', to: 'cancelled', sides: ['shop', 'customer'] },
    ];
    const diagram = lifecycleMermaid(statuses, code);
    expect(diagram).toBe(
      [
        'stateDiagram-v2',
        '    [*] --> requested',
        '    requested --> confirmed: shop',
        '    requested --> cancelled: shop, customer',
        '    confirmed --> [*]',
        '    cancelled --> [*]',
      ].join('\n'),
    );
    expect(lifecycleMermaid(statuses, code.slice(1))).not.toBe(diagram);
    expect(lifecycleMermaid(statuses, [...code, { from: 'confirmed', to: 'cancelled', sides: ['system'] }])).not.toBe(
      diagram,
    );
  });
});
