import { createECDH, type ECDH } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The local push service's subscriptions on disk (`subscriptionsFile`), one JSON line per change:
 * `{"port":N}` when the service starts listening, and a subscription's whole record (its private key
 * included) when it is made or unsubscribed; the last line of an id wins. Appending keeps a
 * subscribe O(1); the file is only read at start. Mode 0600: it holds the subscribers' private keys.
 */
export interface StoredSubscription {
  id: string;
  ecdh: ECDH;
  publicKey: Buffer;
  auth: Buffer;
  applicationServerKey: string | null;
  active: boolean;
}

interface SubscriptionLine {
  id: string;
  /** The subscriber's P-256 private key, base64url. */
  privateKey: string;
  auth: string;
  applicationServerKey: string | null;
  active: boolean;
}

export interface SubscriptionFile {
  /** The port the service listened on last, when one was kept. */
  port: number | undefined;
  subscriptions: StoredSubscription[];
  save(sub: StoredSubscription): void;
  savePort(port: number): void;
}

export function openSubscriptionFile(file: string): SubscriptionFile {
  let port: number | undefined;
  const byId = new Map<string, StoredSubscription>();
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let entry: Partial<SubscriptionLine> & { port?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue; // a line cut short by a crash mid-write
      }
      if (typeof entry.port === 'number') port = entry.port;
      else if (typeof entry.id === 'string' && typeof entry.privateKey === 'string' && typeof entry.auth === 'string') {
        const ecdh = createECDH('prime256v1');
        ecdh.setPrivateKey(Buffer.from(entry.privateKey, 'base64url'));
        byId.set(entry.id, {
          id: entry.id,
          ecdh,
          publicKey: ecdh.getPublicKey(),
          auth: Buffer.from(entry.auth, 'base64url'),
          applicationServerKey: entry.applicationServerKey ?? null,
          active: entry.active !== false,
        });
      }
    }
  } else mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const append = (value: unknown): void => appendFileSync(file, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  return {
    port,
    subscriptions: [...byId.values()],
    save(sub) {
      const line: SubscriptionLine = {
        id: sub.id,
        privateKey: sub.ecdh.getPrivateKey().toString('base64url'),
        auth: sub.auth.toString('base64url'),
        applicationServerKey: sub.applicationServerKey,
        active: sub.active,
      };
      append(line);
    },
    savePort(p) {
      if (p !== port) append({ port: p });
      port = p;
    },
  };
}
