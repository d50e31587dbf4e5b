/** What a listing shows of a payload: readable text when it is UTF-8 text, else base64. */
export type PayloadPreview =
  { encoding: 'utf8'; text: string; truncated: boolean } | { encoding: 'base64'; data: string; truncated: boolean };

export const PREVIEW = { bytes: 1024, chars: 512, base64Bytes: 384 } as const;

// Printable text: anything but C0 controls other than tab, LF and CR, and DEL.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * `head` is the payload's first bytes, `size` its full length. Decoding is streaming so a
 * multi-byte character cut at the end of `head` is held back rather than taken for binary.
 */
export function previewPayload(head: Uint8Array, size: number): PayloadPreview {
  let text: string | undefined;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(head, { stream: head.length < size });
  } catch {
    text = undefined;
  }
  if (text !== undefined && !CONTROL.test(text)) {
    const chars = [...text];
    const cut = chars.length > PREVIEW.chars;
    return {
      encoding: 'utf8',
      text: cut ? chars.slice(0, PREVIEW.chars).join('') : text,
      truncated: cut || head.length < size,
    };
  }
  const bytes = head.subarray(0, PREVIEW.base64Bytes);
  return { encoding: 'base64', data: Buffer.from(bytes).toString('base64'), truncated: bytes.length < size };
}
