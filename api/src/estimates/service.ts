import type { Queryable } from '@clutch/db';
import { appendEvent } from '@clutch/jobs';
import { requireRecentMfa } from '../auth/step-up.js';
import { actorOf } from '../auth/scope.js';
import type { RepairWorkActor } from '../check-ins/service.js';
import { apiError } from '../errors.js';
import { transitionRepairOrder, type RepairOrderStatus } from '../repair-orders/lifecycle.js';
import {
  mayOnOrder,
  orderNotFound,
  readOrder,
  requireOnOrder,
  type OrderRow,
  requireReadableOrder,
} from '../repair-work/order-access.js';
import { isCheckViolation, isUniqueViolation } from '../repair-work/sql-errors.js';
import { toIso } from '../shared/time.js';
import { fromMilli, LIMITS, lineAmounts, majorToMinor, sumAmounts, toMilli } from './money.js';
import {
  EstimatesRepository,
  type EstimateRow,
  type LineDecision,
  type LineKind,
  type LineRow,
  type PricedLine,
} from './repository.js';

/**
 * Above this approved total (in the estimate's currency, major units: 500.00 EUR, 500 JPY) the
 * customer's decision needs a recent second factor (step-up) and is written to the audit log.
 */
export const ESTIMATE_STEP_UP_THRESHOLD_MAJOR = 500;

/** Where a first estimate may be sent from, and where a supplemental one (extra work mid-repair). */
const FIRST_ESTIMATE_FROM: readonly RepairOrderStatus[] = ['checked_in', 'diagnosis', 'declined'];
const SUPPLEMENTAL_FROM: readonly RepairOrderStatus[] = ['in_progress', 'waiting_parts', 'waiting_customer', 'sublet'];

export interface LineInput {
  kind: LineKind;
  description?: string | undefined;
  quantity: number;
  unitPriceMinor?: number | undefined;
  partId?: string | undefined;
  taxRateBp: number;
}

export interface EstimateInput {
  notes?: string | undefined;
  lines: LineInput[];
}

export interface EstimateLineView {
  id: string;
  position: number;
  kind: LineKind;
  description: string;
  partId: string | null;
  sku: string | null;
  quantity: number;
  quantityMilli: number;
  unitPriceMinor: number;
  taxRateBp: number;
  netMinor: number;
  taxMinor: number;
  totalMinor: number;
  decision: LineDecision | null;
}

export interface EstimateView {
  id: string;
  repairOrderId: string;
  partnerId: string;
  revision: number;
  revisesId: string | null;
  supplemental: boolean;
  status: EstimateRow['status'];
  currency: string;
  netMinor: number;
  taxMinor: number;
  totalMinor: number;
  approvedTotalMinor: number | null;
  notes: string;
  createdAt: string;
  sentAt: string | null;
  decidedAt: string | null;
  lines: EstimateLineView[];
}

const num = (v: string | number): number => Number(v);

function lineView(l: LineRow): EstimateLineView {
  return {
    id: l.id,
    position: l.position,
    kind: l.kind,
    description: l.description,
    partId: l.part_id,
    sku: l.sku,
    quantity: fromMilli(l.quantity_milli),
    quantityMilli: l.quantity_milli,
    unitPriceMinor: num(l.unit_price_minor),
    taxRateBp: l.tax_rate_bp,
    netMinor: num(l.net_minor),
    taxMinor: num(l.tax_minor),
    totalMinor: num(l.total_minor),
    decision: l.decision,
  };
}

function view(e: EstimateRow, lines: readonly LineRow[]): EstimateView {
  return {
    id: e.id,
    repairOrderId: e.repair_order_id,
    partnerId: e.partner_id,
    revision: e.revision,
    revisesId: e.revises_id,
    supplemental: e.supplemental,
    status: e.status,
    currency: e.currency,
    netMinor: num(e.net_minor),
    taxMinor: num(e.tax_minor),
    totalMinor: num(e.total_minor),
    approvedTotalMinor: e.approved_total_minor === null ? null : num(e.approved_total_minor),
    notes: e.notes,
    createdAt: toIso(e.created_at) ?? '',
    sentAt: toIso(e.sent_at),
    decidedAt: toIso(e.decided_at),
    lines: lines.filter((l) => l.estimate_id === e.id).map(lineView),
  };
}

const notFound = (id: string): Error => apiError('ESTIMATE_NOT_FOUND', `No estimate ${id}`, { estimateId: id });
const stateConflict = (detail: string, extra: Record<string, unknown> = {}): Error =>
  apiError('ESTIMATE_STATE_CONFLICT', detail, extra);

/** An estimate's payload on the outbox (topics estimate.sent, estimate.decided). */
const eventPayload = (e: EstimateRow, extra: Record<string, unknown>) => ({
  estimateId: e.id,
  repairOrderId: e.repair_order_id,
  partnerId: e.partner_id,
  customerTenantId: e.customer_tenant_id,
  customerUserId: e.customer_user_id,
  supplemental: e.supplemental,
  revision: e.revision,
  currency: e.currency,
  ...extra,
});

/**
 * Estimates (issue 15, item 4): the shop writes a draft (labour, parts, fees with a tax rate each),
 * sends it (the order moves to estimate_sent; a sent estimate never changes again: a change is a
 * new revision that supersedes it when sent), and the customer approves or declines each line (the
 * order moves to approved when at least one line is approved, else declined). Extra work found
 * mid-repair is a supplemental estimate: sent from in_progress or a waiting state, decided the same
 * way, after which the order goes on with the work (docs/repair-work.md).
 */
export class EstimatesService {
  constructor(private readonly stepUpThresholdMajor: number = ESTIMATE_STEP_UP_THRESHOLD_MAJOR) {}

  async list(actor: RepairWorkActor, repairOrderId: string): Promise<{ estimates: EstimateView[] }> {
    return actor.scope.run(async (q) => {
      await requireReadableOrder(q, actor.policy, repairOrderId);
      const repo = new EstimatesRepository(q);
      // Row-level security shows the customer what was sent to it, never a draft.
      const estimates = await repo.byOrder(repairOrderId);
      const lines = await repo.lines(estimates.map((e) => e.id));
      return { estimates: estimates.map((e) => view(e, lines)) };
    });
  }

  async get(actor: RepairWorkActor, id: string): Promise<EstimateView> {
    return actor.scope.run(async (q) => {
      const { estimate } = await this.readable(actor, q, id, 'repair-orders:read', 'either');
      return view(estimate, await new EstimatesRepository(q).lines([id]));
    });
  }

  async create(
    actor: RepairWorkActor,
    input: EstimateInput & { repairOrderId: string; supplemental?: boolean | undefined },
  ): Promise<EstimateView> {
    const by = actorOf(actor.principal);
    return this.write(actor, async (q) => {
      const order = await requireOnOrder(
        actor.policy,
        'estimates:write',
        await readOrder(q, input.repairOrderId, true),
        input.repairOrderId,
        'shop',
      );
      const supplemental = SUPPLEMENTAL_FROM.includes(order.status);
      if (!supplemental && !FIRST_ESTIMATE_FROM.includes(order.status))
        throw stateConflict(`A repair order that is ${order.status} takes no estimate`, {
          repairOrderId: order.id,
          status: order.status,
        });
      if (input.supplemental !== undefined && input.supplemental !== supplemental)
        throw apiError(
          'ESTIMATE_INVALID',
          supplemental
            ? `The repair order is ${order.status}: an estimate now is supplemental`
            : `The repair order is ${order.status}: a supplemental estimate is for extra work found during the repair`,
          { pointer: '/supplemental' },
        );
      const repo = new EstimatesRepository(q);
      const open = (await repo.ofOrderIn(order.id, 'draft')) ?? (await repo.ofOrderIn(order.id, 'sent'));
      if (open)
        throw stateConflict(
          open.status === 'draft'
            ? `Repair order ${order.id} already has a draft estimate: edit it`
            : `Estimate ${open.id} waits for the customer: revise it rather than writing another`,
          { estimateId: open.id },
        );
      const terms = await this.terms(repo, order);
      const id = await repo.insert(order, {
        supplemental,
        revision: 1,
        revisesId: null,
        currency: terms.currency,
        notes: input.notes ?? '',
        createdBy: by,
      });
      const estimate = (await repo.get(id))!;
      const lines = await this.price(repo, order.partner_id, terms, input.lines);
      await repo.replaceLines(estimate, lines, sumAmounts(lines), input.notes ?? '');
      return this.reread(repo, id);
    });
  }

  async update(actor: RepairWorkActor, id: string, input: EstimateInput): Promise<EstimateView> {
    return this.write(actor, async (q) => {
      const { estimate, order } = await this.readable(actor, q, id, 'estimates:write', 'shop', true);
      if (estimate.status !== 'draft')
        throw stateConflict(`Estimate ${id} is ${estimate.status}: it cannot change (revise a sent one)`, {
          status: estimate.status,
        });
      const repo = new EstimatesRepository(q);
      const terms = await this.terms(repo, order);
      const lines = await this.price(repo, order.partner_id, terms, input.lines);
      await repo.replaceLines(estimate, lines, sumAmounts(lines), input.notes ?? estimate.notes);
      return this.reread(repo, id);
    });
  }

  /** A new draft revision of a sent estimate, with its lines (it supersedes the sent one when sent). */
  async revise(actor: RepairWorkActor, id: string): Promise<EstimateView> {
    const by = actorOf(actor.principal);
    return this.write(actor, async (q) => {
      const { estimate, order } = await this.readable(actor, q, id, 'estimates:write', 'shop', true);
      if (estimate.status !== 'sent')
        throw stateConflict(`Only a sent estimate waiting for the customer is revised; ${id} is ${estimate.status}`, {
          status: estimate.status,
        });
      const repo = new EstimatesRepository(q);
      const draft = await repo.ofOrderIn(order.id, 'draft');
      if (draft)
        throw stateConflict(`Repair order ${order.id} already has a draft estimate: edit it`, { estimateId: draft.id });
      const newId = await repo.insert(order, {
        supplemental: estimate.supplemental,
        revision: estimate.revision + 1,
        revisesId: estimate.id,
        currency: estimate.currency,
        notes: estimate.notes,
        createdBy: by,
      });
      const lines = (await repo.lines([id])).map((l): PricedLine => ({
        kind: l.kind,
        description: l.description,
        partId: l.part_id,
        sku: l.sku,
        quantityMilli: l.quantity_milli,
        unitPriceMinor: num(l.unit_price_minor),
        taxRateBp: l.tax_rate_bp,
        netMinor: num(l.net_minor),
        taxMinor: num(l.tax_minor),
        totalMinor: num(l.total_minor),
      }));
      await repo.replaceLines((await repo.get(newId))!, lines, sumAmounts(lines), estimate.notes);
      return this.reread(repo, newId);
    });
  }

  /** Sends a draft: the order moves to estimate_sent (a revision replaces the sent one instead). */
  async send(actor: RepairWorkActor, id: string): Promise<EstimateView> {
    const by = actorOf(actor.principal);
    return this.write(actor, async (q) => {
      const { estimate, order } = await this.readable(actor, q, id, 'estimates:write', 'shop', true);
      if (estimate.status !== 'draft')
        throw stateConflict(`Estimate ${id} is ${estimate.status}; only a draft is sent`, { status: estimate.status });
      const repo = new EstimatesRepository(q);
      const lines = await repo.lines([id]);
      if (lines.length === 0) throw apiError('ESTIMATE_INVALID', 'An estimate is sent with at least one line');
      let revised: string | null = null;
      if (estimate.revises_id !== null) {
        const previous = await repo.get(estimate.revises_id, true);
        if (previous?.status !== 'sent' || order.status !== 'estimate_sent')
          throw stateConflict(
            `Estimate ${estimate.revises_id} is no longer waiting for the customer; this revision cannot replace it`,
          );
        await repo.setStatus(previous.id, 'superseded');
        revised = previous.id;
      } else {
        const okFrom = estimate.supplemental ? SUPPLEMENTAL_FROM : FIRST_ESTIMATE_FROM;
        if (!okFrom.includes(order.status))
          throw stateConflict(`The repair order is ${order.status}; this estimate can no longer be sent`, {
            status: order.status,
          });
      }
      await repo.setStatus(id, 'sent');
      if (revised === null)
        await transitionRepairOrder(q, {
          repairOrderId: order.id,
          to: 'estimate_sent',
          actor: by,
          side: 'shop',
          data: { estimateId: id, supplemental: estimate.supplemental, totalMinor: num(estimate.total_minor) },
        });
      await appendEvent(q, {
        tenantId: estimate.tenant_id,
        topic: 'estimate.sent',
        payload: eventPayload(estimate, { totalMinor: num(estimate.total_minor), supersedes: revised }),
      });
      return this.reread(repo, id);
    });
  }

  /**
   * The customer's decision, every line once. Above the threshold the caller needs a recent second
   * factor, and the decision is made in an audited scope (after the policy allowed it here), so the
   * audit log records who approved how much.
   */
  async decide(
    actor: RepairWorkActor,
    id: string,
    input: { lines: { lineId: string; decision: LineDecision }[] },
  ): Promise<EstimateView> {
    const by = actorOf(actor.principal);
    // Read and judge as the caller; the decision itself is re-checked under lock below.
    const { estimate, order, lines } = await actor.scope.run(async (q) => {
      const found = await this.readable(actor, q, id, 'estimates:approve', 'customer');
      return { ...found, lines: await new EstimatesRepository(q).lines([id]) };
    });
    const decisions = this.checkDecision(estimate, lines, input.lines);
    const approvedTotal = lines
      .filter((l) => decisions.get(l.id) === 'approved')
      .reduce((sum, l) => sum + num(l.total_minor), 0);
    const threshold = majorToMinor(this.stepUpThresholdMajor, estimate.currency);
    const large = approvedTotal > threshold;
    if (large) requireRecentMfa(actor.principal);
    const scope = large
      ? actor.administer({
          action: 'estimate.decided',
          tenantId: order.tenant_id,
          target: id,
          detail: {
            repairOrderId: order.id,
            approvedTotalMinor: approvedTotal,
            currency: estimate.currency,
            thresholdMinor: threshold,
            approvedLines: [...decisions.values()].filter((d) => d === 'approved').length,
            declinedLines: [...decisions.values()].filter((d) => d === 'declined').length,
          },
        })
      : actor.scope;
    return scope
      .run(async (q) => {
        const repo = new EstimatesRepository(q);
        const current = await repo.get(id, true);
        if (current?.status !== 'sent')
          throw stateConflict(`Estimate ${id} is ${current?.status ?? 'gone'}; only a sent estimate is decided`, {
            status: current?.status ?? null,
          });
        for (const [lineId, decision] of decisions) await repo.decideLine(lineId, decision);
        await repo.markDecided(id, approvedTotal, by);
        const to: RepairOrderStatus = [...decisions.values()].includes('approved') ? 'approved' : 'declined';
        await transitionRepairOrder(q, {
          repairOrderId: order.id,
          to,
          actor: by,
          side: 'customer',
          data: { estimateId: id, approvedTotalMinor: approvedTotal, currency: estimate.currency },
        });
        await appendEvent(q, {
          tenantId: estimate.tenant_id,
          topic: 'estimate.decided',
          payload: eventPayload(estimate, { approvedTotalMinor: approvedTotal, outcome: to }),
        });
        if (estimate.supplemental) await this.resumeWork(q, order.id, to, id);
        return this.reread(repo, id);
      })
      .catch((err: unknown) => {
        if (isCheckViolation(err, 'estimate_immutable') || isCheckViolation(err, 'estimate_status'))
          throw stateConflict(`Estimate ${id} changed while it was being decided; read it again`);
        throw err;
      });
  }

  /**
   * After a supplemental estimate's decision the repair goes on (with the extra work or without
   * it): the order moves on to in_progress as the platform's move. Where the lifecycle does not let
   * the platform make that move, the order stays approved/declined and the shop resumes it.
   */
  private async resumeWork(q: Queryable, repairOrderId: string, from: RepairOrderStatus, estimateId: string) {
    try {
      await q.query('SAVEPOINT resume_work');
      await transitionRepairOrder(q, {
        repairOrderId,
        to: 'in_progress',
        actor: 'system',
        side: 'system',
        note: `work resumes after the supplemental estimate was ${from}`,
        data: { estimateId },
      });
      await q.query('RELEASE SAVEPOINT resume_work');
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'INVALID_TRANSITION') throw err;
      await q.query('ROLLBACK TO SAVEPOINT resume_work');
    }
  }

  private checkDecision(
    estimate: EstimateRow,
    lines: readonly LineRow[],
    asked: readonly { lineId: string; decision: LineDecision }[],
  ): Map<string, LineDecision> {
    if (estimate.status !== 'sent')
      throw stateConflict(`Estimate ${estimate.id} is ${estimate.status}; only a sent estimate is decided`, {
        status: estimate.status,
      });
    const known = new Set(lines.map((l) => l.id));
    const decisions = new Map<string, LineDecision>();
    for (const [i, d] of asked.entries()) {
      if (!known.has(d.lineId))
        throw apiError('DECISION_INVALID', `Line ${d.lineId} is not a line of estimate ${estimate.id}`, {
          pointer: `/lines/${i}/lineId`,
        });
      if (decisions.has(d.lineId))
        throw apiError('DECISION_INVALID', `Line ${d.lineId} is decided twice`, { pointer: `/lines/${i}/lineId` });
      decisions.set(d.lineId, d.decision);
    }
    const missing = lines.filter((l) => !decisions.has(l.id)).map((l) => l.id);
    if (missing.length > 0)
      throw apiError('DECISION_INVALID', 'Decide every line of the estimate: approve or decline each', { missing });
    return decisions;
  }

  /** The estimate and its order for a caller who may do `permission` on its side; 404 otherwise. */
  private async readable(
    actor: RepairWorkActor,
    q: Queryable,
    id: string,
    permission: string,
    party: 'shop' | 'customer' | 'either',
    lock = false,
  ): Promise<{ estimate: EstimateRow; order: OrderRow }> {
    const estimate = await new EstimatesRepository(q).get(id, lock);
    if (!estimate) throw notFound(id);
    const order = await readOrder(q, estimate.repair_order_id, lock);
    if (!order) throw notFound(id);
    if (await mayOnOrder(actor.policy, permission, order, party, 'estimate')) return { estimate, order };
    if (await mayOnOrder(actor.policy, 'repair-orders:read', order, 'either'))
      throw apiError('FORBIDDEN', `This needs the ${permission} permission on this estimate`, {
        requiredPermission: permission,
      });
    throw notFound(id);
  }

  private async terms(repo: EstimatesRepository, order: OrderRow) {
    const terms = await repo.shopTerms(order.partner_id);
    if (!terms) throw orderNotFound(order.id);
    return terms;
  }

  /** Prices the lines as asked: labour at the shop's rate unless priced, parts from the shop's catalogue. */
  private async price(
    repo: EstimatesRepository,
    partnerId: string,
    terms: { currency: string; labour_rate_minor: number | null },
    input: readonly LineInput[],
  ): Promise<PricedLine[]> {
    if (input.length > LIMITS.lines)
      throw apiError('ESTIMATE_INVALID', `An estimate has at most ${LIMITS.lines} lines`);
    const partIds = [...new Set(input.flatMap((l) => (l.partId ? [l.partId] : [])))];
    const parts = await repo.parts(partnerId, partIds);
    return input.map((l, i): PricedLine => {
      const at = (field: string) => ({ pointer: `/lines/${i}/${field}` });
      const invalid = (detail: string, field: string): Error => apiError('ESTIMATE_INVALID', detail, at(field));
      let quantityMilli: number;
      try {
        quantityMilli = toMilli(l.quantity);
      } catch (err) {
        throw invalid((err as Error).message, 'quantity');
      }
      let unitPriceMinor = l.unitPriceMinor;
      let description = l.description;
      let sku: string | null = null;
      let partId: string | null = null;
      if (l.partId !== undefined) {
        if (l.kind !== 'part') throw invalid('Only a part line names a part of the catalogue', 'partId');
        const part = parts.get(l.partId);
        if (!part) throw invalid(`Part ${l.partId} is not in this shop's active catalogue`, 'partId');
        if (part.currency !== terms.currency)
          throw invalid(`Part ${part.sku} is priced in ${part.currency}, the estimate in ${terms.currency}`, 'partId');
        unitPriceMinor ??= part.price_minor;
        description ??= part.name;
        sku = part.sku;
        partId = l.partId;
      }
      if (l.kind === 'labour') {
        unitPriceMinor ??= terms.labour_rate_minor ?? undefined;
        if (unitPriceMinor === undefined)
          throw invalid('The shop has no labour rate: give this line a unitPriceMinor (per hour)', 'unitPriceMinor');
      }
      if (unitPriceMinor === undefined) throw invalid(`A ${l.kind} line needs a unitPriceMinor`, 'unitPriceMinor');
      if (description === undefined || description.trim() === '')
        throw invalid('A line needs a description', 'description');
      try {
        const amounts = lineAmounts({ quantityMilli, unitPriceMinor, taxRateBp: l.taxRateBp });
        return {
          kind: l.kind,
          description: description.trim(),
          partId,
          sku,
          quantityMilli,
          unitPriceMinor,
          taxRateBp: l.taxRateBp,
          ...amounts,
        };
      } catch (err) {
        throw invalid((err as Error).message, 'unitPriceMinor');
      }
    });
  }

  private async reread(repo: EstimatesRepository, id: string): Promise<EstimateView> {
    const estimate = await repo.get(id);
    if (!estimate) throw notFound(id);
    return view(estimate, await repo.lines([id]));
  }

  /** One write transaction in the caller's scope, with the database's refusals as problems. */
  private write<T>(actor: RepairWorkActor, fn: (q: Queryable) => Promise<T>): Promise<T> {
    return actor.scope.run(fn).catch((err: unknown) => {
      if (isUniqueViolation(err, 'estimates_one_draft_idx') || isUniqueViolation(err, 'estimates_one_sent_idx'))
        throw stateConflict('Another estimate of this repair order was written at the same time; read them again');
      if (isCheckViolation(err, 'estimate_immutable') || isCheckViolation(err, 'estimate_status'))
        throw stateConflict('The estimate was sent meanwhile: it cannot change (revise it)');
      throw err;
    });
  }
}
