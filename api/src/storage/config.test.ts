import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeStorage, parseStorageConfig } from './config.js';

describe('CLUTCH_STORAGE', () => {
  it('defaults to local disk under the data directory, and takes a path or file:// URL', () => {
    expect(parseStorageConfig(undefined, './data/attachments')).toEqual({
      kind: 'local-disk',
      dir: resolve('./data/attachments'),
    });
    expect(parseStorageConfig('  ', '/srv/d')).toEqual({ kind: 'local-disk', dir: '/srv/d' });
    expect(parseStorageConfig('/var/lib/clutch/files', 'x')).toEqual({
      kind: 'local-disk',
      dir: '/var/lib/clutch/files',
    });
    expect(parseStorageConfig('file:///var/lib/clutch/files', 'x')).toEqual({
      kind: 'local-disk',
      dir: '/var/lib/clutch/files',
    });
  });

  it('reads s3://bucket/prefix with an S3-compatible endpoint, region and addressing', () => {
    const config = parseStorageConfig(
      's3://clutch-prod/attachments/?endpoint=http://minio:9000&region=eu-central-1&pathStyle=true',
      'x',
    );
    expect(config).toEqual({
      kind: 's3',
      bucket: 'clutch-prod',
      prefix: 'attachments',
      endpoint: 'http://minio:9000',
      region: 'eu-central-1',
      forcePathStyle: true,
    });
    expect(describeStorage(config)).toBe('s3://clutch-prod/attachments at http://minio:9000');
    expect(parseStorageConfig('s3://clutch-prod', 'x')).toMatchObject({
      kind: 's3',
      bucket: 'clutch-prod',
      prefix: undefined,
      endpoint: undefined,
    });
  });

  it('refuses what it cannot honour, naming the setting', () => {
    expect(() => parseStorageConfig('s3://AKIA:secret@bucket', 'x')).toThrow(/credentials/);
    expect(() => parseStorageConfig('s3://Bad_Bucket', 'x')).toThrow(/bucket name/);
    expect(() => parseStorageConfig('gs://bucket', 'x')).toThrow(/CLUTCH_STORAGE/);
    expect(() => parseStorageConfig('s3://bucket?endpoint=minio:9000', 'x')).toThrow(/endpoint/);
  });
});
