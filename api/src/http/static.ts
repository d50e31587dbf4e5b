import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Middleware } from 'koa';

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

/** Serves the web package's public folder (GET/HEAD only); anything it cannot serve falls through. */
export function serveStatic(root: string): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const file = resolveStaticPath(root, ctx.path);
    const type = file ? CONTENT_TYPES[path.extname(file).toLowerCase()] : undefined;
    if (!file || !type) return next();
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return next();
    ctx.status = 200;
    ctx.type = type;
    ctx.length = info.size;
    ctx.lastModified = info.mtime;
    // Pages and scripts change with every build and there is no fingerprinting yet: always revalidate.
    ctx.set('Cache-Control', 'no-cache');
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = createReadStream(file);
  };
}
