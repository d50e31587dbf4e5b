import sharp from 'sharp';
import type { ImageType } from './detect.js';

/** Longest side of a stored image; larger ones are scaled down (never up). */
export const MAX_IMAGE_SIDE = 2048;
/** Decoded pixels an upload may have (a decompression bomb is refused before it is decoded). */
export const MAX_INPUT_PIXELS = 50_000_000;
const JPEG_QUALITY = 82;
const WEBP_QUALITY = 82;

export interface ProcessedImage {
  bytes: Buffer;
  contentType: 'image/jpeg' | 'image/webp';
  width: number;
  height: number;
}

export class UnreadableImageError extends Error {}

/**
 * An uploaded image as we store it: turned upright by its EXIF orientation, then every bit of
 * metadata dropped (EXIF with GPS positions and camera serials, XMP, IPTC, ICC profiles: sharp
 * writes none unless asked), scaled to fit 2048 px, and re-encoded: a JPEG stays JPEG (photos),
 * PNG, WebP and GIF become WebP (keeps transparency and animation at a fraction of the size). The
 * re-encode also means no byte of the upload itself is ever served back.
 */
export async function processImage(bytes: Uint8Array, type: ImageType): Promise<ProcessedImage> {
  const animated = type === 'image/gif' || type === 'image/webp';
  try {
    const meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, animated }).metadata();
    const multiPage = (meta.pages ?? 1) > 1;
    // failOn stays at sharp's default ('warning'), the level its documentation asks for with untrusted input.
    let pipeline = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, animated });
    // Orientation is an EXIF matter of still photos; animations have no EXIF orientation to honour.
    if (!multiPage) pipeline = pipeline.autoOrient();
    pipeline = pipeline.resize({
      width: MAX_IMAGE_SIDE,
      height: MAX_IMAGE_SIDE,
      fit: 'inside',
      withoutEnlargement: true,
    });
    const contentType = type === 'image/jpeg' ? 'image/jpeg' : 'image/webp';
    pipeline =
      contentType === 'image/jpeg'
        ? pipeline.jpeg({ quality: JPEG_QUALITY, mozjpeg: true })
        : pipeline.webp({ quality: WEBP_QUALITY, effort: 4 });
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    return { bytes: data, contentType, width: info.width, height: info.pageHeight ?? info.height };
  } catch (err) {
    throw new UnreadableImageError(err instanceof Error ? err.message : String(err));
  }
}
