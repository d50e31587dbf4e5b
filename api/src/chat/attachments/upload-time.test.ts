import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, ok, startChatWorld, type ChatWorld } from '../test-chat.js';

/**
 * Node's whole-request timeout is one value for the server: held at the default 10 s (here 1 s, so
 * the test is quick) it cut off a large allowed upload on a slow uplink. Uploads now get their own,
 * longer deadline; every other request keeps the short one.
 */
describe('upload time limit', () => {
  let w: ChatWorld;
  let roomId: string;
  const REQUEST_TIMEOUT_MS = 1000;

  beforeAll(async () => {
    w = await startChatWorld(undefined, 'upload-time-shop', {
      connections: { requestTimeoutMs: REQUEST_TIMEOUT_MS, headersTimeoutMs: REQUEST_TIMEOUT_MS },
      bodyTimeoutMs: 30_000,
    });
    roomId = ok(await api(w.fx, 'POST', '/chat/rooms', w.alice, { kind: 'booking', bookingId: w.aliceBooking }), 201)
      .id as string;
  });

  afterAll(async () => {
    await w?.fx.close();
  });

  /** Sends `body` in `chunks` pieces, one every `everyMs` (a throttled uplink); resolves with the answer. */
  function throttled(
    path: string,
    headers: Record<string, string>,
    body: Buffer,
    chunks: number,
    everyMs: number,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${w.fx.api.url}${path}`,
        { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', (err) => reject(err));
      const size = Math.ceil(body.length / chunks);
      let sent = 0;
      const next = (): void => {
        if (sent >= body.length) return void req.end();
        req.write(body.subarray(sent, sent + size));
        sent += size;
        setTimeout(next, everyMs).unref();
      };
      next();
    });
  }

  it('takes a large file sent slowly for longer than the request timeout', async () => {
    const pdf = Buffer.concat([
      Buffer.from('%PDF-1.4\n', 'latin1'),
      Buffer.alloc(3 * 1024 * 1024, 0x20),
      Buffer.from('\n%%EOF\n', 'latin1'),
    ]);
    const started = Date.now();
    const res = await throttled(
      `/api/chat/rooms/${roomId}/attachments?name=manual.pdf`,
      { authorization: `Bearer ${w.alice.token}`, 'content-type': 'application/pdf', 'x-requested-with': 'test' },
      pdf,
      12,
      200,
    );
    expect(Date.now() - started).toBeGreaterThan(2 * REQUEST_TIMEOUT_MS);
    expect(res.status, res.text).toBe(201);
    expect(JSON.parse(res.text)).toMatchObject({
      name: 'manual.pdf',
      contentType: 'application/pdf',
      size: pdf.length,
    });
  });

  it('still cuts off any other request whose body is still arriving after the request timeout', async () => {
    const body = Buffer.from(JSON.stringify({ kind: 'support', subject: 'x'.repeat(150) }));
    const res = await throttled(
      '/api/chat/rooms',
      { authorization: `Bearer ${w.alice.token}`, 'content-type': 'application/json' },
      body,
      12,
      200,
    );
    expect(res.status).toBe(408);
  });
});
