import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';
import type { Middleware } from 'koa';

const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);

/** Text worth compressing; images and fonts are compressed already. */
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt']);
/** Below this, the headers cost more than compression saves (RFC 9110 leaves it to the server). */
const MIN_COMPRESS_BYTES = 1024;

type Encoding = 'br' | 'gzip';

/** One file's compressed bytes, valid while its size and mtime stay what they were. */
interface Compressed {
  size: number;
  mtimeMs: number;
  body: Promise<Buffer>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * Resolves a URL path to a file strictly inside root, or undefined. Decoding happens once, before the
 * containment check, so `%2e%2e%2f` cannot climb out; dot-segments and NUL bytes are refused outright.
 */
export function resolveStaticPath(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  if (decoded.endsWith('/')) decoded += 'index.html';
  const segments = decoded.split('/').filter((s) => s !== '');
  // Hidden files and any `.`/`..` segment: nothing we serve needs them.
  if (segments.some((s) => s.startsWith('.'))) return undefined;
  const base = path.resolve(root);
  const file = path.resolve(base, ...segments);
  if (file !== base && !file.startsWith(base + path.sep)) return undefined;
  return file;
}

/**
 * Serves the web package's public folder (GET/HEAD only); anything it cannot serve falls through.
 * Text files go out Brotli- or gzip-compressed when the request's Accept-Encoding allows it: the
 * pages' modules are a few hundred KB and a phone's first paint waits for them. Each file is
 * compressed once per version (size and mtime) and kept for this server's life; the folder is ours
 * and finite, so the cache is bounded by what the build put there.
 */
export function serveStatic(root: string): Middleware {
  const compressed = new Map<string, Compressed>();
  const compress = (file: string, encoding: Encoding, info: { size: number; mtimeMs: number }): Promise<Buffer> => {
    const key = `${encoding}:${file}`;
    const kept = compressed.get(key);
    if (kept && kept.size === info.size && kept.mtimeMs === info.mtimeMs) return kept.body;
    const body = readFile(file).then((bytes) =>
      encoding === 'br'
        ? brotli(bytes, {
            params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length },
          })
        : gzipped(bytes, { level: 9 }),
    );
    compressed.set(key, { size: info.size, mtimeMs: info.mtimeMs, body });
    body.catch(() => compressed.delete(key));
    return body;
  };
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const file = resolveStaticPath(root, ctx.path);
    const type = file ? CONTENT_TYPES[path.extname(file).toLowerCase()] : undefined;
    if (!file || !type) return next();
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return next();
    const compressible = COMPRESSIBLE.has(path.extname(file).toLowerCase()) && info.size >= MIN_COMPRESS_BYTES;
    ctx.status = 200;
    ctx.type = type;
    ctx.lastModified = info.mtime;
    // Pages and scripts change with every build and there is no fingerprinting yet: always revalidate.
    ctx.set('Cache-Control', 'no-cache');
    if (compressible) ctx.vary('Accept-Encoding');
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    // Acceptability per RFC 9110 §12.5.3 (q-values, `*`) from Koa's negotiator; among the acceptable
    // ones Brotli first, whatever order the client listed them in (it is the smaller).
    const encoding = !compressible
      ? 'identity'
      : ctx.acceptsEncodings('br') === 'br'
        ? 'br'
        : ctx.acceptsEncodings('gzip') === 'gzip'
          ? 'gzip'
          : 'identity';
    if (encoding === 'br' || encoding === 'gzip') {
      const body = await compress(file, encoding, info);
      ctx.set('Content-Encoding', encoding);
      ctx.length = body.length;
      ctx.body = body;
      return;
    }
    ctx.length = info.size;
    ctx.body = createReadStream(file);
  };
}
