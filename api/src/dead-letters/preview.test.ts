import { describe, expect, it } from 'vitest';
import { PREVIEW, previewPayload } from './preview.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('previewPayload', () => {
  it('shows UTF-8 text as text, whole when short', () => {
    expect(previewPayload(utf8('{"v":1,"t":"ä"}\n'), 17)).toEqual({
      encoding: 'utf8',
      text: '{"v":1,"t":"ä"}\n',
      truncated: false,
    });
  });

  it('truncates long text by characters and flags payloads longer than the head', () => {
    const long = 'ü'.repeat(PREVIEW.chars + 10);
    const p = previewPayload(utf8(long), utf8(long).length);
    expect(p).toEqual({ encoding: 'utf8', text: 'ü'.repeat(PREVIEW.chars), truncated: true });
    // A head that ends inside a two-byte character is still text.
    const head = utf8('ab' + 'é'.repeat(10)).subarray(0, 5);
    expect(previewPayload(head, 22)).toEqual({ encoding: 'utf8', text: 'abé', truncated: true });
  });

  it('falls back to base64 for binary (invalid UTF-8 or control bytes)', () => {
    const cbor = Uint8Array.from([0xa2, 0x61, 0x76, 0x01, 0xff, 0x00]);
    expect(previewPayload(cbor, 6)).toEqual({
      encoding: 'base64',
      data: Buffer.from(cbor).toString('base64'),
      truncated: false,
    });
    expect(previewPayload(utf8('nul\u0000byte'), 8).encoding).toBe('base64');
    const big = new Uint8Array(PREVIEW.bytes).fill(0xff);
    const p = previewPayload(big, 5000);
    expect(p).toMatchObject({ encoding: 'base64', truncated: true });
    expect(Buffer.from((p as { data: string }).data, 'base64').length).toBe(PREVIEW.base64Bytes);
  });
});
