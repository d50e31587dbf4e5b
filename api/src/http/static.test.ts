import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type Fixture } from '../test-fixtures.js';
import { resolveStaticPath } from './static.js';

const dir = mkdtempSync(path.join(tmpdir(), 'clutch-static-'));
const root = path.join(dir, 'public');
let fx: Fixture;

beforeAll(async () => {
  mkdirSync(path.join(root, 'js'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>home</title>');
  writeFileSync(path.join(root, 'js', 'app.js'), 'export const x = 1;');
  writeFileSync(path.join(root, 'style.css'), 'body{}');
  writeFileSync(path.join(root, '.env'), 'SECRET=1');
  writeFileSync(path.join(dir, 'secret.txt'), 'outside the web root');
  fx = await startFixture({ webRoot: root });
});

afterAll(async () => {
  await fx?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Raw HTTP, because fetch and URL normalise `..` away before the server ever sees it. */
function rawGet(target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(fx.api.port, '127.0.0.1', () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('static files', () => {
  it('serves / as index.html and files with their content types', async () => {
    let res = await fetch(`${fx.api.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('<title>home</title>');
    res = await fetch(`${fx.api.url}/js/app.js`);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    res = await fetch(`${fx.api.url}/style.css`);
    expect(res.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await res.text()).toBe('body{}');
  });

  it('answers 304 to a revalidation', async () => {
    const first = await fetch(`${fx.api.url}/style.css`);
    await first.text();
    // Not fetch: it adds `Cache-Control: no-cache` to conditional requests, which forces a full answer.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      httpGet(
        `${fx.api.url}/style.css`,
        { headers: { 'if-modified-since': first.headers.get('last-modified') ?? '' } },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      ).on('error', reject);
    });
    expect(status).toBe(304);
  });

  it('404s for missing files, directories without index and dotfiles', async () => {
    for (const p of ['/missing.html', '/js', '/.env', '/js/']) {
      const res = await fetch(`${fx.api.url}${p}`);
      await res.body?.cancel();
      expect(res.status, p).toBe(404);
    }
  });

  it('never serves files outside the web root (directory traversal)', async () => {
    for (const target of [
      '/../secret.txt',
      '/js/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2e%2e%2fsecret.txt',
      '/js/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/..%5csecret.txt',
      '/%00/../secret.txt',
    ]) {
      const response = await rawGet(target);
      expect(response, target).not.toContain('outside the web root');
      expect(response.split('\r\n')[0], target).toMatch(/^HTTP\/1\.1 (400|404)/);
    }
  });

  it('resolveStaticPath keeps every result inside the root', () => {
    expect(resolveStaticPath(root, '/')).toBe(path.join(root, 'index.html'));
    expect(resolveStaticPath(root, '/js/app.js')).toBe(path.join(root, 'js', 'app.js'));
    expect(resolveStaticPath(root, '/../secret.txt')).toBeUndefined();
    expect(resolveStaticPath(root, '/%2e%2e/secret.txt')).toBeUndefined();
    expect(resolveStaticPath(root, '/%E0%A4%A')).toBeUndefined();
    expect(resolveStaticPath(root, '/a%00b')).toBeUndefined();
    expect(resolveStaticPath(root, '/..%5c..%5csecret.txt')).toBeUndefined();
  });

  it('does not let the static tree shadow or swallow /api', async () => {
    const res = await fetch(`${fx.api.url}/api/index.html`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});

/** One GET with the given Accept-Encoding, the raw bytes and headers as sent (no decoding). */
function getEncoded(target: string, acceptEncoding?: string, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>(
    (resolve, reject) => {
      const req = httpRequest(
        `${fx.api.url}${target}`,
        { method, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}

describe('compressed static files', () => {
  const script = `export const words = ${JSON.stringify(Array.from({ length: 400 }, (_, i) => `word-${i}`))};\n`;
  beforeAll(() => writeFileSync(path.join(root, 'js', 'big.js'), script));

  it('sends text files Brotli- or gzip-compressed as the client accepts, and plain otherwise', async () => {
    const br = await getEncoded('/js/big.js', 'gzip, deflate, br');
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['vary']).toMatch(/accept-encoding/i);
    expect(Number(br.headers['content-length'])).toBe(br.body.length);
    expect(br.body.length).toBeLessThan(script.length / 2);
    expect(brotliDecompressSync(br.body).toString()).toBe(script);

    const gz = await getEncoded('/js/big.js', 'br;q=0, gzip');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(script);

    for (const accept of [undefined, 'identity', 'br;q=0, gzip;q=0']) {
      const plain = await getEncoded('/js/big.js', accept);
      expect(plain.headers['content-encoding'], accept).toBeUndefined();
      expect(plain.body.toString(), accept).toBe(script);
    }
  });

  it('sends a changed file anew, and leaves small files and HEAD bodies alone', async () => {
    await getEncoded('/js/big.js', 'br');
    const changed = script.replace('word-0', 'WORD-0!');
    writeFileSync(path.join(root, 'js', 'big.js'), changed);
    const br = await getEncoded('/js/big.js', 'br');
    expect(brotliDecompressSync(br.body).toString()).toBe(changed);
    const head = await getEncoded('/js/big.js', 'br', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-encoding']).toBe('br');
    expect(Number(head.headers['content-length'])).toBe(br.body.length);
    expect(head.body.length).toBe(0);
    const small = await getEncoded('/style.css', 'br');
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.body.toString()).toBe('body{}');
  });
});
