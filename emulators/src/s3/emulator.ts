import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expectedSignature, parseAuthorization, sha256Hex } from './sigv4.js';

/**
 * A local server speaking the S3 REST API's wire format for the object calls the platform makes:
 * PutObject, GetObject, HeadObject, DeleteObject (and CreateBucket, for setup), path-style
 * (`/{bucket}/{key}`). Every request must carry a SigV4 `Authorization` header whose credential is
 * this emulator's access key and region and whose signature checks out; errors are S3's XML
 * documents (`NoSuchKey` 404, `NoSuchBucket` 404, `SignatureDoesNotMatch` 403, ...). Objects live in
 * memory. Not emulated: listing, multipart uploads, versioning, ACLs, presigned URLs (query-string
 * auth), virtual-hosted-style addressing, per-chunk signatures of aws-chunked bodies (the chunks are
 * decoded, their signatures not checked).
 */

export interface S3EmulatorOptions {
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** The region requests must be signed for (default `us-east-1`). */
  region?: string | undefined;
  /** Buckets that exist from the start (default `['clutch']`). */
  buckets?: readonly string[] | undefined;
  /** Largest accepted object (default 64 MiB); larger ones get `EntityTooLarge`. */
  maxObjectBytes?: number | undefined;
  port?: number | undefined;
  host?: string | undefined;
}

export interface S3StoredObject {
  bytes: Buffer;
  contentType: string;
  etag: string;
  lastModified: Date;
}

export interface RecordedS3Request {
  method: string;
  /** `PutObject`, `GetObject`, `HeadObject`, `DeleteObject`, `CreateBucket` or `Unsupported`. */
  operation: string;
  bucket: string | null;
  key: string | null;
  status: number;
  /** The S3 error code answered, if any. */
  errorCode: string | null;
}

export interface S3Emulator {
  /** `http://127.0.0.1:<port>`: the SDK's `endpoint` (with `forcePathStyle: true`). */
  url: string;
  port: number;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Every request, oldest first. */
  received: RecordedS3Request[];
  /** The stored object, or undefined. */
  object(bucket: string, key: string): S3StoredObject | undefined;
  /** Keys of a bucket, sorted. */
  keys(bucket: string): string[];
  /** The next `times` requests (of `method`, when given) answer `status` with the S3 error `code`. */
  failNext(failure: { method?: string; status: number; code: string; times?: number }): void;
  close(): Promise<void>;
}

const MAX_LOGGED_REQUESTS = 10_000;
/** S3 refuses requests signed more than 15 minutes away from its clock. */
const MAX_SKEW_MS = 15 * 60_000;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

const xmlEscape = (s: string): string =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

function errorXml(err: S3Error, requestId: string): string {
  const extra = Object.entries(err.extra)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message>${extra}<RequestId>${requestId}</RequestId></Error>`
  );
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    // A little slack for aws-chunked framing around the payload.
    if (size > limit + 64 * 1024)
      throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

/** The payload of an `aws-chunked` body: `<hex size>[;chunk-signature=...]\r\n<data>\r\n` ... `0\r\n<trailers>\r\n`. */
function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) throw new S3Error(400, 'IncompleteBody', 'The aws-chunked body ended inside a chunk header');
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size) || size < 0)
      throw new S3Error(400, 'InvalidRequest', 'Malformed aws-chunked chunk size');
    if (size === 0) return Buffer.concat(parts);
    const start = eol + 2;
    if (start + size > body.length)
      throw new S3Error(400, 'IncompleteBody', 'The aws-chunked body is shorter than its chunks');
    parts.push(body.subarray(start, start + size));
    at = start + size + 2;
  }
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

/** `20261203T200000Z` -> Date, or undefined. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

export async function startS3Emulator(options: S3EmulatorOptions = {}): Promise<S3Emulator> {
  const accessKeyId = options.accessKeyId ?? `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = options.secretAccessKey ?? randomBytes(30).toString('base64');
  const region = options.region ?? 'us-east-1';
  const maxObjectBytes = options.maxObjectBytes ?? 64 * 1024 * 1024;
  const buckets = new Map<string, Map<string, S3StoredObject>>(
    (options.buckets ?? ['clutch']).map((b) => [b, new Map()]),
  );
  const received: RecordedS3Request[] = [];
  const failures: { method?: string | undefined; status: number; code: string; times: number }[] = [];

  function authenticate(req: IncomingMessage, body: Buffer): Buffer {
    const authorization = header(req, 'authorization');
    if (!authorization) throw new S3Error(403, 'AccessDenied', 'Access Denied: the request is not signed');
    const auth = parseAuthorization(authorization);
    if (!auth)
      throw new S3Error(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed (SigV4 expected)');
    if (auth.accessKeyId !== accessKeyId)
      throw new S3Error(
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
        {
          AWSAccessKeyId: auth.accessKeyId,
        },
      );
    if (auth.region !== region)
      throw new S3Error(
        400,
        'AuthorizationHeaderMalformed',
        `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${region}'`,
        { Region: region },
      );
    if (auth.service !== 's3')
      throw new S3Error(
        400,
        'AuthorizationHeaderMalformed',
        `The credential scope names service '${auth.service}', not 's3'`,
      );
    for (const required of ['host', 'x-amz-date', 'x-amz-content-sha256'])
      if (!auth.signedHeaders.includes(required))
        throw new S3Error(400, 'AuthorizationHeaderMalformed', `SignedHeaders must include ${required}`);
    const amzDate = header(req, 'x-amz-date') ?? '';
    const at = parseAmzDate(amzDate);
    if (!at || amzDate.slice(0, 8) !== auth.date)
      throw new S3Error(403, 'AccessDenied', 'X-Amz-Date is missing, malformed or not the credential scope date');
    if (Math.abs(at.getTime() - Date.now()) > MAX_SKEW_MS)
      throw new S3Error(
        403,
        'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
      );
    const payloadHash = header(req, 'x-amz-content-sha256') ?? '';
    const expected = expectedSignature(
      { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, payloadHash },
      auth,
      secretAccessKey,
    );
    if (expected !== auth.signature)
      throw new S3Error(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      );
    const chunked = /aws-chunked/i.test(header(req, 'content-encoding') ?? '') || payloadHash.startsWith('STREAMING-');
    const payload = chunked ? decodeAwsChunked(body) : body;
    if (/^[0-9a-f]{64}$/.test(payloadHash) && sha256Hex(payload) !== payloadHash)
      throw new S3Error(
        400,
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    const decoded = header(req, 'x-amz-decoded-content-length');
    if (chunked && decoded !== undefined && Number(decoded) !== payload.length)
      throw new S3Error(400, 'IncompleteBody', 'The decoded body length does not match x-amz-decoded-content-length');
    return payload;
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    record: (r: Omit<RecordedS3Request, 'method'>) => void,
  ): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [, rawBucket = '', ...rawKey] = url.pathname.split('/');
    const bucketName = decodeURIComponent(rawBucket);
    const key = rawKey.length > 0 ? decodeURIComponent(rawKey.join('/')) : '';
    // The SDK names the operation in `x-id` (`?x-id=PutObject`); any other parameter is a call not emulated.
    const params = [...url.searchParams.keys()].filter((k) => k !== 'x-id');
    const operation =
      params.length > 0
        ? 'Unsupported'
        : key === ''
          ? method === 'PUT' && bucketName !== ''
            ? 'CreateBucket'
            : 'Unsupported'
          : ((
              { PUT: 'PutObject', GET: 'GetObject', HEAD: 'HeadObject', DELETE: 'DeleteObject' } as Record<
                string,
                string
              >
            )[method] ?? 'Unsupported');
    const base = { operation, bucket: bucketName || null, key: key || null };
    const common = { 'x-amz-request-id': requestId, server: 'ClutchS3Emulator' };

    try {
      const body = await readBody(req, maxObjectBytes);
      const failureAt = failures.findIndex((f) => f.method === undefined || f.method === method);
      if (failureAt >= 0) {
        const failure = failures[failureAt]!;
        if (--failure.times <= 0) failures.splice(failureAt, 1);
        throw new S3Error(failure.status, failure.code, `Injected failure (${failure.status}) by the emulator.`);
      }
      const payload = authenticate(req, body);
      if (operation === 'Unsupported')
        throw new S3Error(
          501,
          'NotImplemented',
          `The emulator does not implement ${method} ${url.pathname}${url.search}`,
        );
      if (operation === 'CreateBucket') {
        if (!BUCKET_NAME.test(bucketName))
          throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucketName });
        if (buckets.has(bucketName))
          throw new S3Error(
            409,
            'BucketAlreadyOwnedByYou',
            'Your previous request to create the named bucket succeeded and you already own it.',
            { BucketName: bucketName },
          );
        buckets.set(bucketName, new Map());
        res.writeHead(200, { ...common, location: `/${bucketName}`, 'content-length': '0' });
        res.end();
        record({ ...base, status: 200, errorCode: null });
        return;
      }
      const bucket = buckets.get(bucketName);
      if (!bucket)
        throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucketName });
      if (Buffer.byteLength(key, 'utf8') > 1024) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');

      if (operation === 'PutObject') {
        if (payload.length > maxObjectBytes)
          throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
        const declared = header(req, 'x-amz-decoded-content-length') ?? header(req, 'content-length');
        if (declared !== undefined && Number(declared) !== payload.length)
          throw new S3Error(
            400,
            'IncompleteBody',
            'You did not provide the number of bytes specified by the Content-Length HTTP header.',
          );
        const etag = `"${createHash('md5').update(payload).digest('hex')}"`;
        bucket.set(key, {
          bytes: Buffer.from(payload),
          contentType: header(req, 'content-type') ?? 'binary/octet-stream',
          etag,
          lastModified: new Date(Math.floor(Date.now() / 1000) * 1000),
        });
        res.writeHead(200, { ...common, etag, 'content-length': '0' });
        res.end();
        record({ ...base, status: 200, errorCode: null });
        return;
      }
      if (operation === 'DeleteObject') {
        // S3 answers 204 whether or not the key existed.
        bucket.delete(key);
        res.writeHead(204, common);
        res.end();
        record({ ...base, status: 204, errorCode: null });
        return;
      }
      const object = bucket.get(key);
      if (!object) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
      res.writeHead(200, {
        ...common,
        'content-type': object.contentType,
        'content-length': String(object.bytes.length),
        etag: object.etag,
        'last-modified': object.lastModified.toUTCString(),
        'accept-ranges': 'bytes',
      });
      res.end(operation === 'HeadObject' ? undefined : object.bytes);
      record({ ...base, status: 200, errorCode: null });
    } catch (err) {
      const s3 = err instanceof S3Error ? err : new S3Error(500, 'InternalError', String(err));
      record({ ...base, status: s3.status, errorCode: s3.code });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // HEAD answers carry no body: the status (and the SDK's NotFound for 404) is all there is.
      const xml = method === 'HEAD' ? '' : errorXml(s3, requestId);
      res.writeHead(s3.status, {
        ...common,
        'content-type': 'application/xml',
        'content-length': String(Buffer.byteLength(xml)),
      });
      res.end(xml || undefined);
    }
  }

  const server = createServer((req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const record = (r: Omit<RecordedS3Request, 'method'>): void => {
      received.push({ method, ...r });
      if (received.length > MAX_LOGGED_REQUESTS) received.splice(0, received.length - MAX_LOGGED_REQUESTS);
    };
    void handle(req, res, requestId, record).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    region,
    accessKeyId,
    secretAccessKey,
    received,
    object: (bucket, key) => buckets.get(bucket)?.get(key),
    keys: (bucket) => [...(buckets.get(bucket)?.keys() ?? [])].sort(),
    failNext: (f) =>
      failures.push({ method: f.method?.toUpperCase(), status: f.status, code: f.code, times: f.times ?? 1 }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
