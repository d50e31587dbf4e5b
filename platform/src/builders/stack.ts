import type { Logger } from 'pino';

/**
 * Closers of what a composition started, run newest first: a part stops before the parts it uses
 * (the API before the database). A failing step is logged and the rest still run.
 */
export interface Stack {
  push(close: () => Promise<void> | void): void;
  unwind(): Promise<void>;
}

export function createStack(logger: Logger): Stack {
  const closers: (() => Promise<void> | void)[] = [];
  let unwinding: Promise<void> | undefined;
  return {
    push: (close) => void closers.push(close),
    unwind() {
      unwinding ??= (async () => {
        for (const close of closers.reverse()) {
          try {
            await close();
          } catch (err) {
            logger.error({ err: (err as Error).message }, 'shutdown step failed');
          }
        }
      })();
      return unwinding;
    },
  };
}
