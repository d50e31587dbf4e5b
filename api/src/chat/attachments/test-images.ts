// Test helper (only imported by tests): images generated with sharp, carrying the metadata uploads must lose.
import sharp from 'sharp';

/** A photo as a phone takes it: EXIF with the camera, the owner's name and where it was taken. */
export async function phonePhoto(
  width: number,
  height: number,
  format: 'jpeg' | 'png' | 'webp' = 'jpeg',
  orientation?: number,
): Promise<Buffer> {
  const base = sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    // A marker on the left half, so a rotation shows in the pixels too.
    .composite([
      {
        input: { create: { width: Math.floor(width / 2), height, channels: 3, background: '#0000ff' } },
        left: 0,
        top: 0,
      },
    ])
    .withExif({
      IFD0: { Make: 'PhoneCo', Model: 'Camera 9', Artist: 'SECRET-OWNER-NAME', Copyright: 'SECRET-COPYRIGHT' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '52/1 31/1 1234/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '13/1 24/1 5678/100',
        GPSMapDatum: 'SECRET-GPS-DATUM',
      },
    });
  const withOrientation = orientation === undefined ? base : base.withMetadata({ orientation });
  return withOrientation.toFormat(format).toBuffer();
}
