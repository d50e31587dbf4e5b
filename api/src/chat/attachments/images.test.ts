import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { attachmentName, declaredType, detectType } from './detect.js';
import { MAX_IMAGE_SIDE, processImage, UnreadableImageError } from './images.js';
import { phonePhoto } from './test-images.js';

const contains = (bytes: Buffer, text: string): boolean => bytes.includes(Buffer.from(text, 'latin1'));

describe('attachment types by their bytes', () => {
  it('recognises the accepted types by magic bytes, whatever the name or header says', async () => {
    expect(detectType(await phonePhoto(8, 8, 'jpeg'))).toBe('image/jpeg');
    expect(detectType(await phonePhoto(8, 8, 'png'))).toBe('image/png');
    expect(detectType(await phonePhoto(8, 8, 'webp'))).toBe('image/webp');
    expect(
      detectType(
        await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } })
          .gif()
          .toBuffer(),
      ),
    ).toBe('image/gif');
    expect(detectType(Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj', 'latin1'))).toBe('application/pdf');
    expect(detectType(Buffer.from('Brake pads: 2x front\r\nÖl: 5W-30 — 4 L\n', 'utf8'))).toBe('text/plain');
  });

  it('refuses what is none of them: executables, archives, SVG-with-NUL tricks, invalid UTF-8, empty', () => {
    expect(detectType(Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'))).toBeUndefined();
    expect(detectType(Buffer.from('PK\x03\x04\x14\x00', 'latin1'))).toBeUndefined();
    expect(detectType(Buffer.from('\x7fELF\x02\x01\x01', 'latin1'))).toBeUndefined();
    expect(detectType(Buffer.from([0xc3, 0x28, 0x41]))).toBeUndefined();
    expect(detectType(Buffer.from('text with a NUL\x00 inside', 'latin1'))).toBeUndefined();
    expect(detectType(Buffer.alloc(0))).toBeUndefined();
  });

  it('reads the client header only to compare it', () => {
    expect(declaredType('image/jpg')).toBe('image/jpeg');
    expect(declaredType('text/plain; charset=utf-8')).toBe('text/plain');
    expect(declaredType(undefined)).toBe('unknown');
    expect(declaredType('application/octet-stream')).toBe('unknown');
    expect(declaredType('image/svg+xml')).toBe('unaccepted');
    expect(declaredType('text/html')).toBe('unaccepted');
  });

  it('keeps a safe file name with the extension of the type served', () => {
    expect(attachmentName('../../etc/passwd', 'text/plain')).toBe('passwd.txt');
    expect(attachmentName('C:\\Users\\me\\Rechnung "final".pdf', 'application/pdf')).toBe('Rechnung final.pdf');
    expect(attachmentName('photo.PNG', 'image/webp')).toBe('photo.webp');
    expect(attachmentName(undefined, 'image/jpeg')).toBe('attachment.jpg');
    expect(attachmentName('.htaccess', 'text/plain')).toBe('htaccess.txt');
    expect(attachmentName('a\r\nb.txt', 'text/plain')).toBe('ab.txt');
    expect(attachmentName('x'.repeat(500), 'text/plain').length).toBeLessThanOrEqual(200);
  });
});

describe('images as stored', () => {
  it('removes EXIF, GPS included, from a JPEG and keeps it a JPEG', async () => {
    const photo = await phonePhoto(640, 480, 'jpeg');
    // The fixture really carries what must go.
    const before = await sharp(photo).metadata();
    expect(before.exif).toBeDefined();
    expect(contains(photo, 'SECRET-GPS-DATUM')).toBe(true);
    expect(contains(photo, 'SECRET-OWNER-NAME')).toBe(true);

    const out = await processImage(photo, 'image/jpeg');
    expect(out.contentType).toBe('image/jpeg');
    expect(detectType(out.bytes)).toBe('image/jpeg');
    const after = await sharp(out.bytes).metadata();
    expect(after.exif).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    expect(after.iptc).toBeUndefined();
    expect(contains(out.bytes, 'SECRET-GPS-DATUM')).toBe(false);
    expect(contains(out.bytes, 'SECRET-OWNER-NAME')).toBe(false);
    expect(contains(out.bytes, 'Exif\0\0')).toBe(false);
    expect({ width: out.width, height: out.height }).toEqual({ width: 640, height: 480 });
  });

  it('turns a photo upright by its EXIF orientation before dropping the tag', async () => {
    // Orientation 6: the camera was turned 90°; viewers show it 480 wide, 640 high.
    const photo = await phonePhoto(640, 480, 'jpeg', 6);
    const out = await processImage(photo, 'image/jpeg');
    expect({ width: out.width, height: out.height }).toEqual({ width: 480, height: 640 });
    const after = await sharp(out.bytes).metadata();
    expect(after.orientation).toBeUndefined();
    expect({ width: after.width, height: after.height }).toEqual({ width: 480, height: 640 });
  });

  it('scales large images to fit 2048 px and re-encodes PNG as WebP, metadata gone', async () => {
    const png = await phonePhoto(3000, 1000, 'png');
    const out = await processImage(png, 'image/png');
    expect(out.contentType).toBe('image/webp');
    expect(detectType(out.bytes)).toBe('image/webp');
    expect(out.width).toBe(MAX_IMAGE_SIDE);
    expect(out.height).toBe(683);
    expect((await sharp(out.bytes).metadata()).exif).toBeUndefined();
    expect(contains(out.bytes, 'SECRET-GPS-DATUM')).toBe(false);
    expect(out.bytes.length).toBeLessThan(png.length);
  });

  it('keeps small images at their size', async () => {
    const out = await processImage(await phonePhoto(300, 200, 'webp'), 'image/webp');
    expect({ width: out.width, height: out.height }).toEqual({ width: 300, height: 200 });
  });

  it('refuses bytes that start like an image but are not one', async () => {
    const broken = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 7)]);
    await expect(processImage(broken, 'image/jpeg')).rejects.toBeInstanceOf(UnreadableImageError);
  });
});
