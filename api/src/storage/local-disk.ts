import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import {
  assertContentType,
  assertObjectKey,
  type ObjectHead,
  type ObjectStorage,
  type StoredObject,
} from './object-storage.js';

/**
 * Objects as files under one directory, the key as the relative path. A file holds a short header
 * (magic, the content type) and then the bytes, so an object and its type are written by one
 * rename: a reader sees the old object or the new one, never half of one or a type without bytes.
 * Writes go to `<dir>/.tmp/` first (same file system), are flushed, then renamed into place.
 */

const MAGIC = Buffer.from('CLO1', 'latin1');
const HEADER_FIXED = MAGIC.length + 2;

function encode(bytes: Uint8Array, contentType: string): Buffer {
  const type = Buffer.from(contentType, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(type.length);
  return Buffer.concat([MAGIC, length, type, bytes]);
}

function decode(file: Buffer, key: string): StoredObject {
  if (file.length < HEADER_FIXED || !file.subarray(0, MAGIC.length).equals(MAGIC))
    throw new Error(`object ${key} is not in the local store's format`);
  const typeLength = file.readUInt16BE(MAGIC.length);
  const contentType = file.subarray(HEADER_FIXED, HEADER_FIXED + typeLength).toString('utf8');
  return { contentType, bytes: file.subarray(HEADER_FIXED + typeLength) };
}

const missing = (err: unknown): boolean => (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';

export function localDiskStorage(dir: string): ObjectStorage {
  const root = resolve(dir);
  const tmp = join(root, '.tmp');

  /** The file of a key; the check after resolving is the second wall behind assertObjectKey. */
  const fileOf = (key: string): string => {
    assertObjectKey(key);
    const file = resolve(root, key);
    if (!file.startsWith(root + sep)) throw new Error(`object key ${JSON.stringify(key)} leaves the store`);
    return file;
  };

  return {
    kind: 'local-disk',

    async put(key, bytes, { contentType }) {
      const file = fileOf(key);
      assertContentType(contentType);
      await mkdir(tmp, { recursive: true });
      await mkdir(dirname(file), { recursive: true });
      const temp = join(tmp, `${randomUUID()}.part`);
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(encode(bytes, contentType));
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await rename(temp, file);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
    },

    async get(key) {
      const file = fileOf(key);
      try {
        return decode(await readFile(file), key);
      } catch (err) {
        if (missing(err)) return null;
        throw err;
      }
    },

    async head(key): Promise<ObjectHead | null> {
      const file = fileOf(key);
      let handle;
      try {
        handle = await open(file, 'r');
      } catch (err) {
        if (missing(err)) return null;
        throw err;
      }
      try {
        const fixed = Buffer.alloc(HEADER_FIXED);
        await handle.read(fixed, 0, HEADER_FIXED, 0);
        if (!fixed.subarray(0, MAGIC.length).equals(MAGIC))
          throw new Error(`object ${key} is not in the local store's format`);
        const typeLength = fixed.readUInt16BE(MAGIC.length);
        const type = Buffer.alloc(typeLength);
        await handle.read(type, 0, typeLength, HEADER_FIXED);
        const { size } = await stat(file);
        return { contentType: type.toString('utf8'), size: size - HEADER_FIXED - typeLength };
      } finally {
        await handle.close();
      }
    },

    async delete(key) {
      await rm(fileOf(key), { force: true });
    },
  };
}
