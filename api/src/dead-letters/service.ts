import type { Scope } from '../auth/scope.js';
import { apiError } from '../errors.js';
import type { PageRequest } from '../http/pagination.js';
import { toIso } from '../shared/time.js';
import { previewPayload, PREVIEW, type PayloadPreview } from './preview.js';
import { DeadLettersRepository, type DeadLetterRow } from './repository.js';

/**
 * The replay port: the platform runs the letter through ingest again. It must not write a new
 * dead letter when the payload is refused again; the API keeps the original and records the reason.
 */
export type DeadLetterReplayer = (letter: {
  id: string;
  topic: string;
  payload: Buffer;
}) => Promise<{ stored: boolean; reason?: string }>;

export interface DeadLetter {
  id: string;
  receivedAt: string;
  tenantId: string | null;
  deviceId: string | null;
  topic: string;
  reason: string;
  sizeBytes: number;
  preview: PayloadPreview;
  replayedAt: string | null;
  replayAttempts: number;
  lastReplayError: string | null;
}

const toDeadLetter = (row: DeadLetterRow): DeadLetter => ({
  id: row.id,
  receivedAt: toIso(row.received_at) ?? '',
  tenantId: row.tenant_id,
  deviceId: row.device_id,
  topic: row.topic,
  reason: row.reason,
  sizeBytes: Number(row.size_bytes),
  preview: previewPayload(new Uint8Array(row.payload), Number(row.size_bytes)),
  replayedAt: toIso(row.replayed_at),
  replayAttempts: Number(row.replay_attempts),
  lastReplayError: row.last_replay_error,
});

export interface DeadLetterQuery extends PageRequest {
  tenantId?: string | undefined;
  /** Deprecated id cursor; `cursor` replaces it. */
  before?: string | undefined;
}

export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  next: string | null;
  /** Deprecated: the id to pass as `before`; null on the last page. */
  nextBefore: string | null;
}

const notFound = (id: string): Error =>
  apiError('DEAD_LETTER_NOT_FOUND', `No dead letter with id ${id}`, { deadLetterId: id });

export class DeadLettersService {
  constructor(private readonly replayer: DeadLetterReplayer | undefined) {}

  async list(request: Scope, query: DeadLetterQuery): Promise<DeadLetterPage> {
    const scope = request.administration({ action: 'dead-letter.list', tenantId: query.tenantId ?? null });
    if (query.tenantId !== undefined && !scope.covers(query.tenantId)) {
      throw apiError('FORBIDDEN', "A partner key lists its own tenant's dead letters only", {
        tenantId: query.tenantId,
      });
    }
    const page = await scope.run((q) =>
      new DeadLettersRepository(q).list(
        { tenantId: query.tenantId, before: query.before, headBytes: PREVIEW.bytes },
        { limit: query.limit, cursor: query.cursor },
      ),
    );
    const letters = page.items.map(toDeadLetter);
    return {
      deadLetters: letters,
      next: page.next,
      nextBefore: page.next === null ? null : (letters.at(-1)?.id ?? null),
    };
  }

  async replay(
    scope: Scope,
    id: string,
  ): Promise<{
    id: string;
    stored: boolean;
    reason: string | null;
    replayedAt: string | null;
    replayAttempts: number;
  }> {
    const replayer = this.replayer;
    if (!replayer) throw apiError('REPLAY_UNAVAILABLE', 'This server has no ingest to replay into');
    // Platform staff find any tenant's letter (an audited read); administrators already see all.
    const reader = scope.administration({ action: 'dead-letter.read', target: id });
    const letter = await reader.run((q) => new DeadLettersRepository(q).find(id));
    if (!letter) throw notFound(id);
    if (letter.replayed_at !== null) {
      throw apiError('DEAD_LETTER_REPLAYED', `Dead letter ${id} was stored by an earlier replay`, {
        deadLetterId: id,
        replayedAt: toIso(letter.replayed_at),
      });
    }
    // Outside any transaction: ingest opens its own (PGlite has one connection).
    const outcome = await replayer({ id, topic: letter.topic, payload: Buffer.from(letter.payload) });
    const recorded = outcome.stored
      ? ({ stored: true } as const)
      : ({ stored: false, reason: outcome.reason ?? 'refused again' } as const);
    // Administration: the replay is recorded in the audit log with the bookkeeping, in one transaction.
    const audited = scope.audited({
      action: 'dead-letter.replay',
      target: id,
      tenantId: letter.tenant_id,
      detail: { topic: letter.topic, ...recorded },
    });
    const after = await audited.run((q) => new DeadLettersRepository(q).recordReplay(id, recorded));
    if (!after) throw notFound(id);
    return {
      id,
      stored: outcome.stored,
      reason: recorded.stored ? null : recorded.reason,
      replayedAt: toIso(after.replayed_at),
      replayAttempts: Number(after.replay_attempts),
    };
  }
}
