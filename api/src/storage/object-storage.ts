/**
 * Where uploaded bytes (chat attachments, ...) live: the database keeps their facts and a key, an
 * object store keeps the bytes. Two adapters behind this one interface and one contract test
 * (storage.contract.test.ts): local disk (the default) and any S3-compatible service.
 */

export interface StoredObject {
  bytes: Buffer;
  contentType: string;
}

export interface ObjectHead {
  size: number;
  contentType: string;
}

export interface ObjectStorage {
  /** For logs and the health of the platform: `local-disk` or `s3`. */
  readonly kind: 'local-disk' | 's3';
  /** Stores the bytes under the key, replacing what was there; a reader never sees half an object. */
  put(key: string, bytes: Uint8Array, options: { contentType: string }): Promise<void>;
  /** The object, or null when the key holds none. */
  get(key: string): Promise<StoredObject | null>;
  /** Size and type without the bytes, or null. */
  head(key: string): Promise<ObjectHead | null>;
  /** Removes the object; a key that holds none is fine (deletes are retried by cleanup jobs). */
  delete(key: string): Promise<void>;
}

/** 1..512 characters of `[A-Za-z0-9._-]` segments separated by `/`, no segment starting with `.`. */
const KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;
export const MAX_OBJECT_KEY_LENGTH = 512;

/**
 * Keys are made by our code (`chat/<room>/<attachment>`), never taken from a client; this guard
 * still refuses anything that could name a path outside the store (`..`, absolute paths,
 * backslashes, empty segments) or differ between file systems and S3.
 */
export function assertObjectKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_OBJECT_KEY_LENGTH || !KEY.test(key))
    throw new Error(`invalid object key ${JSON.stringify(key)}`);
}

/** Content types as stored: a plain `type/subtype` with optional parameters, nothing that breaks a header. */
export function assertContentType(contentType: string): void {
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(?:\s*;\s*[a-z0-9_-]+=[A-Za-z0-9_.-]+)*$/i.test(contentType))
    throw new Error(`invalid content type ${JSON.stringify(contentType)}`);
}
