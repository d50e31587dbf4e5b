// What the dev mailbox and the local push service received, kept under the data directory (one
// JSON line per item), so a restart of `npm start` still lists what the demo received. The
// emulators themselves stay in memory (tests and benches start them without a data directory);
// this copies their new entries to the file in the background, off the path of a send.
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface DevInboxLog<V> {
  /** What earlier runs received and this run received so far, oldest first. */
  list(): V[];
  /** Writes what arrived since the last write (also done every `everyMs` and on close). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Items an earlier run left in the file that are listed (and kept) at most. */
export const DEV_INBOX_KEEP = 10_000;
const FLUSH_EVERY_MS = 1000;

/**
 * `live` is the emulator's own array (appended to; the oldest may be dropped from its head), `view`
 * what the listing shows of an entry (plain JSON). The file is read once at start and appended to.
 */
export async function openDevInboxLog<S, V>(
  file: string,
  live: readonly S[],
  view: (entry: S) => V,
  options: { keep?: number; everyMs?: number } = {},
): Promise<DevInboxLog<V>> {
  const keep = options.keep ?? DEV_INBOX_KEEP;
  const earlier = await readLines<V>(file);
  if (earlier.length > keep) {
    earlier.splice(0, earlier.length - keep);
    await writeFile(file, earlier.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
  }
  await mkdir(path.dirname(file), { recursive: true });
  /** The newest entry written: later ones are new (when it fell off the head, every entry is). */
  let last: S | undefined;
  let writing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    writing = writing.then(async () => {
      let from = 0;
      if (last !== undefined)
        for (let i = live.length - 1; i >= 0; i--)
          if (live[i] === last) {
            from = i + 1;
            break;
          }
      if (from >= live.length) return;
      const fresh = live.slice(from);
      await appendFile(file, fresh.map((e) => `${JSON.stringify(view(e))}\n`).join(''), { mode: 0o600 });
      last = fresh.at(-1);
    });
    // A failed write (disk full) is retried with the next flush; the demo keeps running.
    return writing.catch(() => {});
  };
  const timer = setInterval(() => void flush(), options.everyMs ?? FLUSH_EVERY_MS);
  timer.unref();
  return {
    list: () => [...earlier, ...live.map(view)].slice(-keep),
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

async function readLines<V>(file: string): Promise<V[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return []; // a first run
  }
  const items: V[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      items.push(JSON.parse(line) as V);
    } catch {
      // a line cut short by a crash mid-write: the rest are still good
    }
  }
  return items;
}
