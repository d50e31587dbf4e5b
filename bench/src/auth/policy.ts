// The policy decision with 1,000 roles (issue 14; DESIGN.md §12 target: p99 under 1 ms), beside a
// reference measured in the same run: a plain Set lookup of the subject's flattened permissions,
// the cheapest an answer to "may they" can be (no conditions, no time bounds, no resource).
//
// The roles form a random inheritance graph (each role inherits from up to three earlier roles, so
// chains run dozens deep), a fifth of their permissions carry conditions, grants are time-bound or
// bound to a resource now and then, and decisions are asked with and without a resource (a vehicle
// of the user's tenant, of another tenant shared with it, or foreign). Seeded: every run asks the
// same questions. Pure CPU in this process: no database, the snapshot is what the store caches.
import {
  compileSnapshot,
  decide,
  PERMISSION_NAMES,
  type Condition,
  type Grant,
  type Resource,
  type RoleDefinition,
  type Subject,
} from '@clutch/identity';

const ROLES = Number(process.env.BENCH_ROLES ?? 1000);
const USERS = Number(process.env.BENCH_USERS ?? 200);
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 200_000);
const TARGET_P99_MS = 1;

/** mulberry32: small and seeded. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CONDITIONS: Condition[] = [
  { ownership: 'vehicle' },
  { ownership: 'shop' },
  { attribute: 'vehicle.make', in: ['Volvo', 'Ford', 'Fiat'] },
  {
    all: [
      { attribute: 'resource.tenantId', equals: 'subject.tenantId' },
      { attribute: 'vehicle.make', value: 'Volvo' },
    ],
  },
];

const percentile = (sorted: Float64Array, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

/** Times each call alone (ns resolution); returns the sorted durations in ms. */
function time(n: number, call: (i: number) => unknown): Float64Array {
  const out = new Float64Array(n);
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = call(i);
    out[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r) sink++;
  }
  if (sink < 0) console.log(sink); // keeps the calls from being optimised away
  return out.sort();
}

export interface PolicyBenchResult {
  roles: number;
  compileMs: number;
  decide: { p50: number; p99: number; max: number; allowed: number };
  reference: { p50: number; p99: number };
  targetMet: boolean;
}

export async function runPolicyBench(): Promise<PolicyBenchResult> {
  const random = rng(14);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const tenants = ['acme', 'globex', 'initech'];

  const roles: RoleDefinition[] = Array.from({ length: ROLES }, (_, i) => ({
    id: `r${i}`,
    tenantId: i % 10 === 0 ? 'platform' : pick(tenants),
    key: `role-${i}`,
    name: `Role ${i}`,
    description: '',
    builtIn: false,
    grantableIn: i % 10 === 0 ? ['partner'] : null,
    parents: i === 0 ? [] : Array.from({ length: Math.floor(random() * 4) }, () => `r${Math.floor(random() * i)}`),
    permissions: Array.from({ length: 1 + Math.floor(random() * 6) }, () => ({
      permission: pick(PERMISSION_NAMES),
      condition: random() < 0.2 ? pick(CONDITIONS) : null,
    })),
  }));
  const c0 = performance.now();
  const snapshot = compileSnapshot(roles);
  const compileMs = performance.now() - c0;

  const now = Date.now();
  const subjects: Extract<Subject, { kind: 'user' }>[] = Array.from({ length: USERS }, (_, u) => {
    const tenantId = pick(tenants);
    const usable = roles.filter((r) => r.tenantId === tenantId || r.grantableIn !== null);
    return {
      kind: 'user',
      userId: `u${u}`,
      tenantId,
      tenantKind: 'partner',
      grants: Array.from({ length: 2 + Math.floor(random() * 5) }, (_, g): Grant => ({
        id: `g${u}-${g}`,
        roleId: pick(usable).id,
        validFrom: now - 3600_000,
        validUntil: random() < 0.2 ? now + 3600_000 : null,
        resource: random() < 0.1 ? { type: 'shop', id: 'north' } : null,
      })),
    };
  });
  const resources: (Resource | undefined)[] = [
    undefined,
    { type: 'vehicle', id: 'v1', tenantId: 'acme', ownerUserId: null, shopId: 'north', attributes: { make: 'Volvo' } },
    { type: 'vehicle', id: 'v2', tenantId: 'globex', ownerUserId: 'u1', attributes: { make: 'Fiat' } },
    {
      type: 'vehicle',
      id: 'v3',
      tenantId: 'consumers',
      ownerUserId: 'someone',
      attributes: { make: 'Ford' },
      shares: [
        {
          granteeTenantId: 'acme',
          granteeUserId: null,
          permissions: ['vehicles:read', 'dtc:read', 'telemetry:read'],
          validFrom: now - 1000,
          validUntil: now + 3600_000,
        },
      ],
    },
  ];
  const questions = Array.from({ length: DECISIONS }, () => ({
    subject: pick(subjects),
    permission: pick(PERMISSION_NAMES),
    resource: pick(resources),
  }));
  // The reference's input, prepared outside the timing as the snapshot is: each subject's permissions, flattened.
  const flattened = new Map(
    subjects.map((s) => [s, new Set(s.grants.flatMap((g) => [...(snapshot.roles.get(g.roleId)?.rules.keys() ?? [])]))]),
  );

  // Warm both paths up (JIT), then measure.
  for (let i = 0; i < 20_000; i++) {
    const q = questions[i % questions.length]!;
    decide(snapshot, q.subject, q.permission, q.resource, now);
    flattened.get(q.subject)!.has(q.permission);
  }
  let allowed = 0;
  const decisions = time(questions.length, (i) => {
    const q = questions[i]!;
    const d = decide(snapshot, q.subject, q.permission, q.resource, now);
    if (d.allow) allowed++;
    return d.allow;
  });
  const reference = time(questions.length, (i) => {
    const q = questions[i]!;
    return flattened.get(q.subject)!.has(q.permission);
  });

  const result: PolicyBenchResult = {
    roles: ROLES,
    compileMs,
    decide: {
      p50: percentile(decisions, 50),
      p99: percentile(decisions, 99),
      max: decisions[decisions.length - 1]!,
      allowed,
    },
    reference: { p50: percentile(reference, 50), p99: percentile(reference, 99) },
    targetMet: percentile(decisions, 99) < TARGET_P99_MS,
  };
  const us = (ms: number): string => `${(ms * 1000).toFixed(2).padStart(8)} µs`;
  console.log(
    `\npolicy decision, ${ROLES} roles (graph compiled in ${compileMs.toFixed(1)} ms), ${USERS} users, ${DECISIONS} decisions (${((allowed / DECISIONS) * 100).toFixed(0)} % allowed)`,
  );
  console.log(
    `  decide()              p50 ${us(result.decide.p50)}   p99 ${us(result.decide.p99)}   max ${us(result.decide.max)}`,
  );
  console.log(`  reference Set lookup  p50 ${us(result.reference.p50)}   p99 ${us(result.reference.p99)}`);
  console.log(
    `  target p99 < ${TARGET_P99_MS} ms: ${result.targetMet ? 'met' : 'NOT met'} (p99 is ${(result.decide.p99 / Math.max(result.reference.p99, 1e-6)).toFixed(1)}x the reference's)`,
  );
  return result;
}

// Run directly (`node bench/dist/auth/policy.js`): the decision benchmark alone.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await runPolicyBench();
