import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { assertContentType, assertObjectKey, type ObjectStorage } from './object-storage.js';

export interface S3StorageOptions {
  bucket: string;
  /** Prepended to every key (`clutch/`), so one bucket can hold several installations. */
  prefix?: string | undefined;
  /** A ready client (tests, or a caller with its own credential chain); else one is built from the fields below. */
  client?: S3Client | undefined;
  /** An S3-compatible server (MinIO, Ceph, the emulator); absent: AWS. Path-style addressing is used with it. */
  endpoint?: string | undefined;
  region?: string | undefined;
  /** Absent: the SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined } | undefined;
  /** Default: true with an endpoint (S3-compatible servers rarely do virtual-hosted buckets), false without. */
  forcePathStyle?: boolean | undefined;
}

/** The S3 error names that mean "no such object" (GetObject's XML code, HeadObject's bodiless 404). */
function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  // A missing bucket is a configuration fault, not a missing object.
  if (e?.name === 'NoSuchBucket' || e?.Code === 'NoSuchBucket') return false;
  return (
    e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.Code === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404
  );
}

export function s3Client(options: Omit<S3StorageOptions, 'bucket' | 'prefix' | 'client'>): S3Client {
  const config: S3ClientConfig = {
    region: options.region ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    // Checksums only where S3 requires them: several S3-compatible servers refuse the SDK's
    // default CRC32 trailers on aws-chunked bodies.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The job queue retries whole use cases; the SDK's own three attempts are enough for a blip.
    maxAttempts: 3,
  };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  return new S3Client(config);
}

export function s3Storage(options: S3StorageOptions): ObjectStorage {
  const client = options.client ?? s3Client(options);
  const prefix = options.prefix ?? '';
  if (prefix !== '') assertObjectKey(prefix.replace(/\/$/, ''));
  const Bucket = options.bucket;
  const keyOf = (key: string): string => {
    assertObjectKey(key);
    return prefix === '' ? key : `${prefix.replace(/\/$/, '')}/${key}`;
  };

  return {
    kind: 's3',

    async put(key, bytes, { contentType }) {
      assertContentType(contentType);
      await client.send(
        new PutObjectCommand({
          Bucket,
          Key: keyOf(key),
          Body: bytes,
          ContentType: contentType,
          ContentLength: bytes.byteLength,
        }),
      );
    },

    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket, Key: keyOf(key) }));
        if (!out.Body) return null;
        const bytes = Buffer.from(await out.Body.transformToByteArray());
        return { bytes, contentType: out.ContentType ?? 'application/octet-stream' };
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },

    async head(key) {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket, Key: keyOf(key) }));
        return { size: Number(out.ContentLength ?? 0), contentType: out.ContentType ?? 'application/octet-stream' };
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },

    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: keyOf(key) }));
    },
  };
}
