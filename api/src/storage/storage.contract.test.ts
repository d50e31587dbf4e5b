import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { startS3Emulator, type S3Emulator } from '@clutch/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDiskStorage } from './local-disk.js';
import type { ObjectStorage } from './object-storage.js';
import { s3Storage } from './s3.js';

interface Subject {
  storage: ObjectStorage;
  close(): Promise<void>;
}

let emulator: S3Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startS3Emulator({ buckets: ['attachments'], region: 'eu-central-1' });
  dir = await mkdtemp(join(tmpdir(), 'clutch-storage-'));
});
afterAll(async () => {
  await emulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const credentials = (): { accessKeyId: string; secretAccessKey: string } => ({
  accessKeyId: emulator.accessKeyId,
  secretAccessKey: emulator.secretAccessKey,
});

const adapters: [string, () => Promise<Subject>][] = [
  [
    'local disk',
    async () => {
      const root = await mkdtemp(join(dir, 'store-'));
      return { storage: localDiskStorage(root), close: async () => {} };
    },
  ],
  [
    'S3 (emulator)',
    async () => ({
      storage: s3Storage({
        bucket: 'attachments',
        prefix: `run-${randomBytes(4).toString('hex')}`,
        endpoint: emulator.url,
        region: emulator.region,
        credentials: credentials(),
      }),
      close: async () => {},
    }),
  ],
];

describe.each(adapters)('object storage contract: %s', (_name, make) => {
  let subject: Subject;
  beforeAll(async () => {
    subject = await make();
  });
  afterAll(async () => {
    await subject?.close();
  });

  it('gives back exactly the bytes and type it stored, and their size', async () => {
    const bytes = randomBytes(300_000);
    await subject.storage.put('chat/room-1/a.bin', bytes, { contentType: 'application/pdf' });
    const got = await subject.storage.get('chat/room-1/a.bin');
    expect(got?.contentType).toBe('application/pdf');
    expect(got?.bytes.equals(bytes)).toBe(true);
    expect(await subject.storage.head('chat/room-1/a.bin')).toEqual({
      size: bytes.length,
      contentType: 'application/pdf',
    });
  });

  it('stores empty objects and replaces an object with a new one under the same key', async () => {
    await subject.storage.put('k/empty', new Uint8Array(0), { contentType: 'text/plain; charset=utf-8' });
    expect(await subject.storage.get('k/empty')).toEqual({
      bytes: Buffer.alloc(0),
      contentType: 'text/plain; charset=utf-8',
    });
    await subject.storage.put('k/empty', Buffer.from('second'), { contentType: 'image/png' });
    const got = await subject.storage.get('k/empty');
    expect(got?.bytes.toString()).toBe('second');
    expect(got?.contentType).toBe('image/png');
  });

  it('answers null for a key that holds nothing, and deletes are idempotent', async () => {
    expect(await subject.storage.get('never/stored')).toBeNull();
    expect(await subject.storage.head('never/stored')).toBeNull();
    await subject.storage.put('gone/soon', Buffer.from('x'), { contentType: 'text/plain' });
    await subject.storage.delete('gone/soon');
    expect(await subject.storage.get('gone/soon')).toBeNull();
    await expect(subject.storage.delete('gone/soon')).resolves.toBeUndefined();
  });

  it('refuses keys that could leave the store, and content types that could break a header', async () => {
    for (const key of [
      '../outside',
      '/etc/passwd',
      'a/../../b',
      'a//b',
      '.hidden',
      'a/./b',
      'a\\b',
      '',
      'ä',
      'x'.repeat(513),
    ])
      await expect(subject.storage.put(key, Buffer.from('x'), { contentType: 'text/plain' }), key).rejects.toThrow(
        /invalid object key/,
      );
    await expect(subject.storage.get('../../etc/passwd')).rejects.toThrow(/invalid object key/);
    await expect(
      subject.storage.put('ok', Buffer.from('x'), { contentType: 'text/plain\r\nX-Evil: 1' }),
    ).rejects.toThrow(/invalid content type/);
  });

  it('keeps concurrent writers of one key whole: a reader sees one of the objects, never a mix', async () => {
    const versions = Array.from({ length: 6 }, (_, i) => Buffer.alloc(64 * 1024, i + 1));
    await Promise.all(versions.map((v, i) => subject.storage.put('race/one', v, { contentType: `image/x-${i}` })));
    const got = await subject.storage.get('race/one');
    const index = versions.findIndex((v) => v.equals(got!.bytes));
    expect(index).toBeGreaterThanOrEqual(0);
    expect(got?.contentType).toBe(`image/x-${index}`);
  });
});

describe('local disk storage', () => {
  it('leaves no temporary files behind and keeps objects under its directory', async () => {
    const root = await mkdtemp(join(dir, 'layout-'));
    const storage = localDiskStorage(root);
    await storage.put('chat/r/a', Buffer.from('hello'), { contentType: 'text/plain' });
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
    expect(await readdir(join(root, 'chat', 'r'))).toEqual(['a']);
  });
});

describe('S3 adapter against the emulator', () => {
  it('signs with SigV4 for the configured region and stores path-style under the prefix', async () => {
    const storage = s3Storage({
      bucket: 'attachments',
      prefix: 'tenant-x',
      endpoint: emulator.url,
      region: emulator.region,
      credentials: credentials(),
    });
    const from = emulator.received.length;
    await storage.put('chat/r/b', Buffer.from('bytes'), { contentType: 'application/pdf' });
    expect(emulator.object('attachments', 'tenant-x/chat/r/b')?.bytes.toString()).toBe('bytes');
    expect(emulator.received.slice(from)).toEqual([
      {
        method: 'PUT',
        operation: 'PutObject',
        bucket: 'attachments',
        key: 'tenant-x/chat/r/b',
        status: 200,
        errorCode: null,
      },
    ]);
  });

  it('is refused by the emulator with a wrong secret, access key or region (the emulator checks signatures)', async () => {
    const wrong = [
      { ...credentials(), secretAccessKey: 'not-the-secret' },
      { ...credentials(), accessKeyId: 'AKIAUNKNOWN0000000' },
    ];
    for (const c of wrong) {
      const storage = s3Storage({
        bucket: 'attachments',
        endpoint: emulator.url,
        region: emulator.region,
        credentials: c,
      });
      await expect(storage.put('x/y', Buffer.from('z'), { contentType: 'text/plain' })).rejects.toMatchObject({
        name: c.secretAccessKey === 'not-the-secret' ? 'SignatureDoesNotMatch' : 'InvalidAccessKeyId',
      });
    }
    const otherRegion = s3Storage({
      bucket: 'attachments',
      endpoint: emulator.url,
      region: 'us-west-2',
      credentials: credentials(),
    });
    await expect(otherRegion.get('x/y')).rejects.toMatchObject({ name: 'AuthorizationHeaderMalformed' });
    expect(emulator.keys('attachments')).not.toContain('x/y');
  });

  it('treats a missing bucket as a fault, not as a missing object', async () => {
    const storage = s3Storage({
      bucket: 'no-such-bucket',
      endpoint: emulator.url,
      region: emulator.region,
      credentials: credentials(),
    });
    await expect(storage.get('a')).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('accepts the SDK default (flexible checksums, streamed aws-chunked bodies) too', async () => {
    // Another client of the same server, as the SDK comes: the emulator decodes aws-chunked bodies.
    const client = new S3Client({
      endpoint: emulator.url,
      region: emulator.region,
      forcePathStyle: true,
      credentials: credentials(),
    });
    // A streamed body goes out aws-chunked with a CRC32 trailer; a small buffer with a checksum header.
    const streamed = Readable.from([Buffer.from('streamed '), Buffer.from('in chunks')]);
    await client.send(
      new PutObjectCommand({
        Bucket: 'attachments',
        Key: 'sdk/streamed',
        Body: streamed,
        ContentLength: 18,
        ContentType: 'text/plain',
      }),
    );
    expect(emulator.object('attachments', 'sdk/streamed')?.bytes.toString()).toBe('streamed in chunks');
    await client.send(
      new PutObjectCommand({
        Bucket: 'attachments',
        Key: 'sdk/default',
        Body: 'plain text body',
        ContentType: 'text/plain',
      }),
    );
    expect(emulator.object('attachments', 'sdk/default')?.bytes.toString()).toBe('plain text body');
    client.destroy();
  });

  it('passes S3 failures through (a 503 SlowDown is an error the caller retries, never an empty object)', async () => {
    const storage = s3Storage({
      bucket: 'attachments',
      endpoint: emulator.url,
      region: emulator.region,
      credentials: credentials(),
    });
    await storage.put('slow/a', Buffer.from('a'), { contentType: 'text/plain' });
    emulator.failNext({ method: 'GET', status: 503, code: 'SlowDown', times: 3 });
    await expect(storage.get('slow/a')).rejects.toMatchObject({ name: 'SlowDown' });
    expect((await storage.get('slow/a'))?.bytes.toString()).toBe('a');
  });
});
