/**
 * `waitFor` over an emulator's append-only log: resolves with the first entry (already there or
 * arriving within `timeoutMs`) that matches; `notify()` is called by the emulator after each append,
 * `rewind()` after it removed entries (a trimmed or cleared mailbox).
 */
export function logWaiter<T>(log: readonly T[]): {
  waitFor(match: (entry: T) => boolean, timeoutMs?: number): Promise<T>;
  notify(): void;
  rewind(): void;
} {
  const waiting = new Set<() => void>();
  let epoch = 0;
  return {
    waitFor(match, timeoutMs = 10_000) {
      return new Promise<T>((resolve, reject) => {
        // Only entries not looked at yet are scanned on each wake (a bench appends thousands).
        let checked = 0;
        let seen = epoch;
        const look = (): boolean => {
          if (seen !== epoch || checked > log.length) {
            seen = epoch;
            checked = 0;
          }
          for (; checked < log.length; checked++) {
            const entry = log[checked] as T;
            if (!match(entry)) continue;
            clearTimeout(timer);
            waiting.delete(wake);
            resolve(entry);
            return true;
          }
          return false;
        };
        const wake = (): void => void look();
        const timer = setTimeout(() => {
          waiting.delete(wake);
          reject(new Error(`nothing matching arrived within ${timeoutMs} ms (log has ${log.length})`));
        }, timeoutMs);
        waiting.add(wake);
        look();
      });
    },
    notify() {
      for (const wake of [...waiting]) wake();
    },
    rewind() {
      epoch++;
    },
  };
}

/** A failure the next matching request(s) get instead of the normal answer. */
export interface Injected<T> {
  value: T;
  times: number;
}

export function takeInjected<T>(queue: Injected<T>[]): T | undefined {
  const first = queue[0];
  if (!first) return undefined;
  first.times -= 1;
  if (first.times <= 0) queue.shift();
  return first.value;
}
