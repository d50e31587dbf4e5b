import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localDiskStorage } from './local-disk.js';
import type { ObjectStorage } from './object-storage.js';
import { s3Storage } from './s3.js';

/**
 * Where the platform keeps uploads, from one setting (`CLUTCH_STORAGE`, docs/configuration.md):
 *
 * - unset: local disk under `<defaultDir>` (the data directory's `attachments/`);
 * - a path or `file:///path`: local disk there;
 * - `s3://bucket[/prefix][?endpoint=https://minio:9000&region=eu-central-1&pathStyle=true]`: S3 or an
 *   S3-compatible server. Credentials never go in the URL: the SDK's default chain reads them
 *   (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, a profile, an instance role).
 */
export type StorageConfig =
  | { kind: 'local-disk'; dir: string }
  | {
      kind: 's3';
      bucket: string;
      prefix?: string | undefined;
      endpoint?: string | undefined;
      region?: string | undefined;
      forcePathStyle?: boolean | undefined;
    };

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseStorageConfig(value: string | undefined, defaultDir: string): StorageConfig {
  const setting = value?.trim() ?? '';
  if (setting === '') return { kind: 'local-disk', dir: resolve(defaultDir) };
  if (setting.startsWith('file:')) return { kind: 'local-disk', dir: fileURLToPath(setting) };
  if (!setting.startsWith('s3://')) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(setting))
      throw new Error(`CLUTCH_STORAGE: ${setting} is neither a directory, file:// nor s3://`);
    return { kind: 'local-disk', dir: isAbsolute(setting) ? setting : resolve(setting) };
  }
  let url: URL;
  try {
    url = new URL(setting);
  } catch {
    throw new Error(`CLUTCH_STORAGE: ${setting} is not a valid s3:// URL`);
  }
  if (url.username || url.password)
    throw new Error('CLUTCH_STORAGE: put S3 credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, not in the URL');
  const bucket = url.hostname;
  if (!BUCKET.test(bucket)) throw new Error(`CLUTCH_STORAGE: ${JSON.stringify(bucket)} is not a valid bucket name`);
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  const endpoint = url.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint))
    throw new Error(`CLUTCH_STORAGE: endpoint ${endpoint} must be an http(s) URL`);
  const pathStyle = url.searchParams.get('pathStyle');
  return {
    kind: 's3',
    bucket,
    prefix: prefix === '' ? undefined : prefix,
    endpoint,
    region: url.searchParams.get('region') ?? undefined,
    forcePathStyle: pathStyle === null ? undefined : pathStyle === 'true',
  };
}

export function openStorage(config: StorageConfig): ObjectStorage {
  return config.kind === 'local-disk' ? localDiskStorage(config.dir) : s3Storage(config);
}

/** A short description for the startup log (no secrets are in the config). */
export function describeStorage(config: StorageConfig): string {
  return config.kind === 'local-disk'
    ? `local disk ${config.dir}`
    : `s3://${config.bucket}${config.prefix ? `/${config.prefix}` : ''}${config.endpoint ? ` at ${config.endpoint}` : ''}`;
}
