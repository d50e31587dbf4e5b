/**
 * What an upload is, from its bytes: the client's `Content-Type` is only compared against it, never
 * believed. Accepted: JPEG, PNG, WebP and GIF images, PDF documents, and plain UTF-8 text.
 */

export type ImageType = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif';
export type FileType = 'application/pdf' | 'text/plain';
export type AttachmentType = ImageType | FileType;

export const IMAGE_TYPES: readonly ImageType[] = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'];
export const ACCEPTED_TYPES: readonly AttachmentType[] = [...IMAGE_TYPES, 'application/pdf', 'text/plain'];

export const isImageType = (type: AttachmentType): type is ImageType =>
  (IMAGE_TYPES as readonly string[]).includes(type);

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const ascii = (bytes: Uint8Array, from: number, to: number): string =>
  String.fromCharCode(...bytes.subarray(from, Math.min(to, bytes.length)));

/** Control characters plain text does not carry (NUL and friends; tab, LF, FF and CR are fine). */
// eslint-disable-next-line no-control-regex
const BINARY_CONTROL = /[\u0000-\u0008\u000b\u000e-\u001a\u001c-\u001f\u007f]/;

function isPlainText(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  return !BINARY_CONTROL.test(text);
}

/** The accepted type the bytes are, or undefined. */
export function detectType(bytes: Uint8Array): AttachmentType | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= PNG.length && PNG.every((b, i) => bytes[i] === b)) return 'image/png';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'image/webp';
  const gif = ascii(bytes, 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') return 'image/gif';
  if (ascii(bytes, 0, 5) === '%PDF-') return 'application/pdf';
  if (isPlainText(bytes)) return 'text/plain';
  return undefined;
}

/** Names clients use for the accepted types (`image/jpg`, `text/plain; charset=utf-8`, ...). */
const ALIASES: Record<string, AttachmentType> = {
  'image/jpeg': 'image/jpeg',
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/png': 'image/png',
  'image/webp': 'image/webp',
  'image/gif': 'image/gif',
  'application/pdf': 'application/pdf',
  'text/plain': 'text/plain',
};

/**
 * What the client said it sends: an accepted type, `unknown` for no header or
 * `application/octet-stream` (the client did not know), or `unaccepted` for anything else.
 */
export function declaredType(header: string | undefined): AttachmentType | 'unknown' | 'unaccepted' {
  const essence = (header ?? '').split(';')[0]!.trim().toLowerCase();
  if (essence === '' || essence === 'application/octet-stream') return 'unknown';
  return ALIASES[essence] ?? 'unaccepted';
}

/** The extension a served file gets, so a download opens with the right program. */
export const EXTENSION: Record<AttachmentType, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
};

/**
 * The file name as stored and served: the last path segment of what the client sent, without control
 * or quoting characters, at most 200 characters, its extension the one of the type served.
 */
export function attachmentName(requested: string | undefined, type: AttachmentType): string {
  const last = (requested ?? '').split(/[/\\]/).pop() ?? '';
  const clean = last
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f"<>|:*?]/g, '')
    .trim()
    .replace(/^\.+/, '');
  const base = clean.replace(/\.[A-Za-z0-9]{1,5}$/, '') || 'attachment';
  return `${base.slice(0, 190)}.${EXTENSION[type]}`;
}
