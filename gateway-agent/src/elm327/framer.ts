// Frame decoder for the ELM327 byte stream: bytes in, one raw response text per '>' prompt out.
// Meaning (echo, errors, data lines) is assigned by parseResponse, never here.

/** ELM327 DS: every reply, including errors, ends with the '>' prompt when the adapter is ready again. */
export const ELM_PROMPT = 0x3e;

/** The longest ELM327 reply (ISO-TP, 4095 bytes as spaced hex with headers) fits well below this. */
const MAX_PENDING_BYTES = 64 * 1024;

export class ElmFramer {
  private buffer: number[] = [];
  /** Times the buffer passed its cap without a prompt: the stream is not an ELM327 (or the baud rate is wrong). */
  overflows = 0;

  /** Feeds bytes; returns the text of each response completed by a prompt in this chunk. */
  push(chunk: Uint8Array | string): string[] {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    const out: string[] = [];
    for (const byte of bytes) {
      if (byte === ELM_PROMPT) {
        out.push(Buffer.from(this.buffer).toString('latin1'));
        this.buffer = [];
      } else if (byte !== 0x00) {
        // ELM327 DS: some clones emit NUL bytes around the prompt; they carry nothing.
        this.buffer.push(byte);
      }
    }
    // A stream with no prompt is not an adapter; cap the buffer so garbage cannot grow it without bound.
    if (this.buffer.length > MAX_PENDING_BYTES) {
      this.buffer = this.buffer.slice(-4096);
      this.overflows++;
    }
    return out;
  }

  /** Bytes received since the last prompt (e.g. to detect a silent adapter). */
  get pending(): number {
    return this.buffer.length;
  }

  reset(): void {
    this.buffer = [];
  }
}
