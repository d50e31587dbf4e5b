/**
 * Photos taken at check-in: JPEG, PNG or WebP, recognised by their first bytes (the client's word
 * for the type is not taken), bounded in size. Stored in the database (027_repair_work.sql), served
 * back with the type found here.
 */
export const PHOTO_MAX_BYTES = 160 * 1024;
/** Per check-in; a request carries what fits the JSON body limit (256 KiB), further ones come later. */
export const PHOTOS_PER_CHECK_IN = 12;
export const PHOTOS_PER_REQUEST = 6;

export type ImageType = 'image/jpeg' | 'image/png' | 'image/webp';

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The image type the bytes start like, or undefined when they are none of the accepted ones. */
export function sniffImage(bytes: Uint8Array): ImageType | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= PNG.length && PNG.every((b, i) => bytes[i] === b)) return 'image/png';
  const ascii = (from: number, to: number): string => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A base64 photo decoded and checked; a reason when it is not acceptable. */
export function decodePhoto(data: string): { bytes: Buffer; contentType: ImageType } | { refused: string } {
  const compact = data.replace(/\s+/g, '');
  if (!BASE64.test(compact) || compact.length % 4 !== 0) return { refused: 'is not base64' };
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length === 0) return { refused: 'is empty' };
  if (bytes.length > PHOTO_MAX_BYTES) return { refused: `is larger than ${PHOTO_MAX_BYTES} bytes` };
  const contentType = sniffImage(bytes);
  if (!contentType) return { refused: 'is not a JPEG, PNG or WebP image' };
  return { bytes, contentType };
}
