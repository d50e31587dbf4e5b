import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Emulator, type S3Emulator } from './emulator.js';

// The SDK's side is tested in api/src/storage/storage.contract.test.ts (@aws-sdk/client-s3 against
// this server); here, what a client gets on the wire when it does things wrong, and a request signed
// by hand from the SigV4 documentation's steps.

const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** SigV4 by the documented steps, for one path-style request with the three required signed headers. */
function sign(
  em: S3Emulator,
  method: string,
  path: string,
  body: Buffer,
  options: { secret?: string; region?: string; query?: string } = {},
): Record<string, string> {
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const region = options.region ?? em.region;
  const host = new URL(em.url).host;
  const payload = sha(body);
  const signed = 'host;x-amz-content-sha256;x-amz-date';
  const canonical = [
    method,
    path,
    options.query ?? '',
    `host:${host}\nx-amz-content-sha256:${payload}\nx-amz-date:${amzDate}\n`,
    signed,
    payload,
  ].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha(canonical)].join('\n');
  let key = hmac(`AWS4${options.secret ?? em.secretAccessKey}`, date);
  for (const part of [region, 's3', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return {
    'x-amz-date': amzDate,
    'x-amz-content-sha256': payload,
    authorization: `AWS4-HMAC-SHA256 Credential=${em.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`,
  };
}

describe('S3 emulator wire format', () => {
  let em: S3Emulator;
  beforeAll(async () => {
    em = await startS3Emulator({ buckets: ['wire'], region: 'eu-west-1' });
  });
  afterAll(async () => {
    await em?.close();
  });

  it('stores and returns an object signed by hand from the documented SigV4 steps', async () => {
    const body = Buffer.from('hello s3');
    const put = await fetch(`${em.url}/wire/a/b.txt`, {
      method: 'PUT',
      headers: { ...sign(em, 'PUT', '/wire/a/b.txt', body), 'content-type': 'text/plain' },
      body,
    });
    expect(put.status).toBe(200);
    expect(put.headers.get('etag')).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    const get = await fetch(`${em.url}/wire/a/b.txt`, { headers: sign(em, 'GET', '/wire/a/b.txt', Buffer.alloc(0)) });
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('text/plain');
    expect(await get.text()).toBe('hello s3');
  });

  it('answers S3 XML errors: unsigned, wrong secret, wrong region, tampered body, missing key and bucket', async () => {
    const xmlCode = async (res: Response): Promise<string | undefined> =>
      /<Code>([^<]+)<\/Code>/.exec(await res.text())?.[1];
    const empty = Buffer.alloc(0);

    const unsigned = await fetch(`${em.url}/wire/x`);
    expect([unsigned.status, await xmlCode(unsigned)]).toEqual([403, 'AccessDenied']);
    const wrongSecret = await fetch(`${em.url}/wire/x`, {
      headers: sign(em, 'GET', '/wire/x', empty, { secret: 'nope' }),
    });
    expect([wrongSecret.status, await xmlCode(wrongSecret)]).toEqual([403, 'SignatureDoesNotMatch']);
    const wrongRegion = await fetch(`${em.url}/wire/x`, {
      headers: sign(em, 'GET', '/wire/x', empty, { region: 'us-east-1' }),
    });
    expect([wrongRegion.status, await xmlCode(wrongRegion)]).toEqual([400, 'AuthorizationHeaderMalformed']);
    const malformed = await fetch(`${em.url}/wire/x`, { headers: { authorization: 'AWS AKIA:abc' } });
    expect([malformed.status, await xmlCode(malformed)]).toEqual([400, 'AuthorizationHeaderMalformed']);
    // Signed for one body, sent with another.
    const headers = sign(em, 'PUT', '/wire/t', Buffer.from('signed'));
    const tampered = await fetch(`${em.url}/wire/t`, { method: 'PUT', headers, body: 'evil!!' });
    expect([tampered.status, await xmlCode(tampered)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    expect(em.object('wire', 't')).toBeUndefined();

    const missing = await fetch(`${em.url}/wire/none`, { headers: sign(em, 'GET', '/wire/none', empty) });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/xml');
    const text = await missing.text();
    expect(text).toContain('<Code>NoSuchKey</Code>');
    expect(text).toContain('<Key>none</Key>');
    const head = await fetch(`${em.url}/wire/none`, { method: 'HEAD', headers: sign(em, 'HEAD', '/wire/none', empty) });
    expect(head.status).toBe(404);
    const noBucket = await fetch(`${em.url}/other/k`, { headers: sign(em, 'GET', '/other/k', empty) });
    expect([noBucket.status, await xmlCode(noBucket)]).toEqual([404, 'NoSuchBucket']);
    // Calls the emulator does not implement (listing) say so rather than answer wrongly.
    const listing = await fetch(`${em.url}/wire?list-type=2`, {
      headers: sign(em, 'GET', '/wire', empty, { query: 'list-type=2' }),
    });
    expect([listing.status, await xmlCode(listing)]).toEqual([501, 'NotImplemented']);
  });
});
