/** Photo types a shop may upload, recognised by their leading bytes (never by what the client claims). */
export type PhotoType = 'image/jpeg' | 'image/png' | 'image/webp';

/** Largest photo accepted: listings show thumbnails, and the JSON body (base64) must fit the API's body limit. */
export const MAX_PHOTO_BYTES = 160 * 1024;
/** Photos per shop. */
export const MAX_PHOTOS = 20;

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const startsWith = (bytes: Uint8Array, prefix: readonly number[], offset = 0): boolean =>
  bytes.length >= offset + prefix.length && prefix.every((b, i) => bytes[offset + i] === b);

/** The image type of these bytes by their magic numbers; undefined for anything else (SVG included: it can carry script). */
export function sniffImageType(bytes: Uint8Array): PhotoType | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, PNG)) return 'image/png';
  // RIFF....WEBP
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8))
    return 'image/webp';
  return undefined;
}
