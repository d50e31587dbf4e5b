import type { Database } from '@clutch/db';
import { applyOps, checkResolveInput, checkTransferInput, resolveOp, transferOp, type LedgerOp } from './ledger.js';
import type { ResolvePendingInput, TransferInput, TransferResult } from './types.js';

export interface LedgerBatcherOptions {
  db: Pick<Database, 'transaction'>;
  /** Most operations per transaction (default 1,000). */
  maxBatch?: number;
  /** How long an idle batcher waits for company before it writes a lone operation (default 1 ms). */
  lingerMs?: number;
}

export interface LedgerBatcher {
  /** Queues a transfer; resolves with its own result once the batch holding it committed. */
  submit(transfer: TransferInput): Promise<TransferResult>;
  /** Queues the post or void of a hold, likewise. */
  resolve(input: ResolvePendingInput): Promise<TransferResult>;
  /** Writes what is queued and waits for it. */
  flush(): Promise<void>;
}

interface Waiting {
  op: LedgerOp;
  settle: (result: TransferResult) => void;
  fail: (err: unknown) => void;
}

/**
 * Group commit for the ledger: callers submit concurrently, one transaction at a time writes up to
 * `maxBatch` of them through one `ledger_apply` (so the chain head is locked once, a hot account
 * updated once, per batch), and each caller gets its own result: a transfer over its limit fails
 * alone. While a batch is being written the next one gathers, so under load batches grow by
 * themselves and a lone caller waits only `lingerMs`. For money movements that are their own use
 * case (the bench, bulk jobs); a payment that must commit with its business change calls the
 * ledger in its own transaction instead.
 */
export function createLedgerBatcher(options: LedgerBatcherOptions): LedgerBatcher {
  const maxBatch = options.maxBatch ?? 1_000;
  const lingerMs = options.lingerMs ?? 1;
  const queue: Waiting[] = [];
  let writing: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;

  async function writeBatch(batch: Waiting[]): Promise<void> {
    try {
      const results = await options.db.transaction((q) =>
        applyOps(
          q,
          batch.map((w) => w.op),
        ),
      );
      batch.forEach((w, i) => w.settle(results[i]!));
    } catch (err) {
      batch.forEach((w) => w.fail(err));
    }
  }

  function drain(): void {
    if (writing || queue.length === 0) return;
    const batch = queue.splice(0, maxBatch);
    writing = writeBatch(batch).finally(() => {
      writing = null;
      drain();
    });
  }

  function enqueue(op: LedgerOp): Promise<TransferResult> {
    return new Promise<TransferResult>((settle, fail) => {
      queue.push({ op, settle, fail });
      if (queue.length >= maxBatch) drain();
      else if (!writing && !timer)
        timer = setTimeout(() => {
          timer = null;
          drain();
        }, lingerMs);
    });
  }

  return {
    submit(transfer) {
      try {
        checkTransferInput(transfer);
      } catch (err) {
        return Promise.reject(err);
      }
      return enqueue(transferOp(transfer));
    },
    resolve(input) {
      try {
        checkResolveInput(input);
      } catch (err) {
        return Promise.reject(err);
      }
      return enqueue(resolveOp(input));
    },
    async flush() {
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      while (queue.length > 0 || writing) {
        drain();
        await writing;
      }
    },
  };
}
