import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3Emulator, type S3Emulator } from '@clutch/emulators';
import { createApiKey, generateSigningKeys } from '@clutch/identity';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOwnedVehicle, createTestShop, type TestShop } from '../../bookings/test-shop.js';
import { signedInUser, type TestUser } from '../../roles/test-users.js';
import { localDiskStorage } from '../../storage/local-disk.js';
import type { ObjectStorage } from '../../storage/object-storage.js';
import { s3Storage } from '../../storage/s3.js';
import {
  auditLog,
  backends,
  call,
  expectProblem,
  startFixture,
  type Fixture,
  type Reply,
} from '../../test-fixtures.js';
import { cleanupChatAttachments } from './cleanup.js';
import { phonePhoto } from './test-images.js';

interface Uploaded {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1');

// PGlite with attachments on local disk, PostgreSQL with them in S3 (the emulator): both adapters
// end to end, without running every case four times.
describe.each(backends('api_chat_attachments'))('chat attachments on %s', (name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let storage: ObjectStorage;
  let s3: S3Emulator | undefined;
  let dir: string;
  let alice: TestUser;
  let bob: TestUser;
  let pam: TestUser;
  let oscar: TestUser;
  let shop: TestShop;
  let roomId: string;
  let partnerKey: string;

  const api = (method: string, path: string, as: TestUser | undefined, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api${path}`, {
      token: as?.token,
      ...(body !== undefined ? { body } : method === 'GET' ? {} : { headers: { 'x-requested-with': 'test' } }),
    });

  const upload = async (
    as: TestUser | undefined,
    bytes: Uint8Array,
    options: { type?: string; name?: string; room?: string; headers?: Record<string, string> } = {},
  ): Promise<Uploaded> => {
    const query = options.name !== undefined ? `?name=${encodeURIComponent(options.name)}` : '';
    const headers: Record<string, string> = { 'x-requested-with': 'test', ...options.headers };
    if (as) headers.authorization = `Bearer ${as.token}`;
    if (options.type !== undefined) headers['content-type'] = options.type;
    const res = await fetch(`${fx.api.url}/api/chat/rooms/${options.room ?? roomId}/attachments${query}`, {
      method: 'POST',
      headers,
      body: bytes,
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      headers: res.headers,
    };
  };

  const download = (as: TestUser | undefined, id: string): Promise<Response> =>
    fetch(`${fx.api.url}/api/chat/attachments/${id}`, { headers: as ? { authorization: `Bearer ${as.token}` } : {} });

  const post = (as: TestUser, body: string, attachmentIds: string[]): Promise<Reply> =>
    api('POST', `/chat/rooms/${roomId}/messages`, as, { clientMessageId: randomUUID(), body, attachmentIds });

  const created = (res: Uploaded): Record<string, unknown> => {
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clutch-attachments-test-'));
    if (name === 'pglite') storage = localDiskStorage(dir);
    else {
      s3 = await startS3Emulator({ buckets: ['clutch-chat'] });
      storage = s3Storage({
        bucket: 'clutch-chat',
        endpoint: s3.url,
        region: s3.region,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
    }
    fx = await startFixture({
      requireAuth: true,
      identity: { signingKeys: keys },
      rateLimit: { enabled: false },
      storage,
      ...(open ? { open } : {}),
    });
    alice = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Alice' });
    bob = await signedInUser(fx.db, keys, { tenantId: 'consumers', roles: ['owner'], name: 'Bob' });
    shop = await createTestShop(fx.db, { tenantId: 'attach-shop' });
    pam = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['partner-admin'], name: 'Pam' });
    await createTestShop(fx.db, { tenantId: 'attach-other-shop' });
    oscar = await signedInUser(fx.db, keys, { tenantId: 'attach-other-shop', roles: ['partner-admin'], name: 'Oscar' });
    const car = await createOwnedVehicle(fx.db, alice.userId, 'Alice hatchback');
    const booking = await fx.db.query<{ id: string }>(
      `INSERT INTO bookings (tenant_id, partner_id, customer_tenant_id, customer_user_id, vehicle_id, service_id,
                             service_code, service_name, status, starts_at, ends_at, currency, created_by)
       VALUES ($1, $2, 'consumers', $3, $4, $5, 'oil_change', 'Oil change', 'confirmed',
               now() + interval '2 days', now() + interval '2 days 1 hour', 'EUR', 'test')
       RETURNING id::text AS id`,
      [shop.tenantId, shop.partnerId, alice.userId, car, shop.services.oil_change],
    );
    // The shop opens the booking's room: the customer and the shop's admin take part.
    const room = await api('POST', '/chat/rooms', pam, { kind: 'booking', bookingId: booking.rows[0]!.id });
    expect(room.status, JSON.stringify(room.body)).toBe(201);
    roomId = room.body.id as string;
    partnerKey = (await createApiKey(fx.db, { tenantId: shop.tenantId, name: 'shop-app', scopes: ['telemetry:read'] }))
      .token;
  });

  afterAll(async () => {
    await fx?.close();
    await s3?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stores a phone photo upright-sized and without EXIF or GPS, and serves it to the room once a message carries it', async () => {
    const photo = await phonePhoto(3000, 2000, 'jpeg');
    const body = created(await upload(alice, photo, { type: 'image/jpeg', name: 'IMG_0001.JPG' }));
    expect(body).toMatchObject({
      name: 'IMG_0001.jpg',
      contentType: 'image/jpeg',
      width: 2048,
      height: 1365,
      url: `/api/chat/attachments/${body.id as string}`,
    });

    // What the store holds: no metadata at all, the GPS position and the owner's name gone.
    const key = `chat/${roomId}/${body.id as string}`;
    const stored = await storage.get(key);
    expect(stored?.contentType).toBe('image/jpeg');
    expect(stored!.bytes.length).toBe(body.size);
    const meta = await sharp(stored!.bytes).metadata();
    expect(meta.exif).toBeUndefined();
    expect(stored!.bytes.includes(Buffer.from('SECRET-GPS-DATUM'))).toBe(false);
    expect(stored!.bytes.includes(Buffer.from('SECRET-OWNER-NAME'))).toBe(false);

    // Before a message carries it, only its uploader sees it.
    expect((await download(alice, body.id as string)).status).toBe(200);
    expect((await download(pam, body.id as string)).status).toBe(404);

    const message = await post(alice, 'The noise comes from here', [body.id as string]);
    expect(message.status, JSON.stringify(message.body)).toBe(201);
    expect(message.body.attachments).toEqual([body]);

    const served = await download(pam, body.id as string);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('image/jpeg');
    expect(served.headers.get('x-content-type-options')).toBe('nosniff');
    expect(served.headers.get('content-disposition')).toBe(
      `inline; filename="IMG_0001.jpg"; filename*=UTF-8''IMG_0001.jpg`,
    );
    expect(served.headers.get('etag')).toMatch(/^"[0-9a-f]{64}"$/);
    expect(Buffer.from(await served.arrayBuffer()).equals(stored!.bytes)).toBe(true);

    // The history shows it too.
    const history = await api('GET', `/chat/rooms/${roomId}/messages`, pam);
    const items = history.body.items as { id: string; attachments: unknown[] }[];
    expect(items.find((m) => m.id === message.body.id)?.attachments).toEqual([body]);
  });

  it('keeps strangers out: another owner, another shop, an API key, nobody', async () => {
    const file = created(await upload(alice, PDF, { type: 'application/pdf', name: 'invoice.pdf' }));
    expect((await post(alice, 'Invoice', [file.id as string])).status).toBe(201);
    for (const stranger of [bob, oscar]) {
      expect((await download(stranger, file.id as string)).status).toBe(404);
      expectProblem(await asReply(upload(stranger, PDF, { type: 'application/pdf' })), 404, 'CHAT_ROOM_NOT_FOUND');
    }
    const keyed = await fetch(`${fx.api.url}/api/chat/attachments/${file.id as string}`, {
      headers: { authorization: `Bearer ${partnerKey}` },
    });
    expect(keyed.status).toBe(403);
    expect((await download(undefined, file.id as string)).status).toBe(401);
    expectProblem(await asReply(upload(undefined, PDF, { type: 'application/pdf' })), 401, 'UNAUTHENTICATED');
    expectProblem(
      await asReply(upload(alice, PDF, { type: 'application/pdf', room: randomUUID() })),
      404,
      'CHAT_ROOM_NOT_FOUND',
    );
  });

  it('lets platform support with chat:moderate read what messages carry, audited, but not pending uploads', async () => {
    const support = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['support'], name: 'Sam' });
    const sent = created(await upload(alice, PDF, { type: 'application/pdf' }));
    const pending = created(await upload(alice, PDF, { type: 'application/pdf' }));
    expect((await post(alice, 'Reported later', [sent.id as string])).status).toBe(201);
    const read = await download(support, sent.id as string);
    expect(read.status).toBe(200);
    expect(Buffer.from(await read.arrayBuffer()).equals(PDF)).toBe(true);
    expect((await download(support, pending.id as string)).status).toBe(404);
    const audit = await auditLog(fx.db);
    // Every moderation read is on record, the refused one too.
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'chat.attachment.read',
        actor: `user:${support.userId}`,
        target: `chat-attachment:${sent.id as string}`,
      }),
    );
  });

  it('serves documents as downloads with the type found in their bytes, byte for byte', async () => {
    const pdf = created(await upload(pam, PDF, { type: 'application/pdf', name: '../../Rechnung März.pdf' }));
    expect(pdf).toMatchObject({
      name: 'Rechnung März.pdf',
      contentType: 'application/pdf',
      size: PDF.length,
      width: null,
    });
    const html = Buffer.from('<html><script>alert(1)</script></html>\n', 'utf8');
    const text = created(await upload(pam, html, { type: 'text/plain; charset=utf-8', name: 'notes.txt' }));
    expect(text.contentType).toBe('text/plain');
    expect((await post(pam, 'Documents', [pdf.id as string, text.id as string])).status).toBe(201);

    const servedPdf = await download(alice, pdf.id as string);
    expect(servedPdf.headers.get('content-type')).toBe('application/pdf');
    expect(servedPdf.headers.get('content-disposition')).toBe(
      `attachment; filename="Rechnung M_rz.pdf"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf`,
    );
    expect(Buffer.from(await servedPdf.arrayBuffer()).equals(PDF)).toBe(true);
    // Markup uploaded as text is served as text, never as a page.
    const servedText = await download(alice, text.id as string);
    expect(servedText.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(servedText.headers.get('x-content-type-options')).toBe('nosniff');
    expect(servedText.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(servedText.headers.get('content-security-policy')).toMatch(/sandbox/);
    expect(await servedText.text()).toBe(html.toString('utf8'));
  });

  it('decides the type by the bytes: refused types and mismatched headers are 415 and store nothing', async () => {
    const before = await count();
    const exe = Buffer.from('MZ\x90\x00\x03\x00\x00\x00\x04\x00', 'latin1');
    const refused = [
      await upload(alice, PDF, { type: 'image/png', name: 'cat.png' }),
      await upload(alice, exe, { type: 'application/octet-stream', name: 'setup.exe' }),
      await upload(alice, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), { type: 'image/svg+xml' }),
      await upload(alice, await phonePhoto(20, 20, 'png'), { type: 'application/pdf' }),
      await upload(alice, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100, 1)]), {
        type: 'image/jpeg',
      }),
    ];
    for (const res of refused) expectProblem(await asReply(Promise.resolve(res)), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(refused[0]!.body).toMatchObject({ detected: 'application/pdf', declared: 'image/png' });
    // No header (or octet-stream): the bytes decide.
    const unlabelled = created(await upload(alice, await phonePhoto(40, 30, 'png')));
    expect(unlabelled).toMatchObject({ contentType: 'image/webp', name: 'attachment.webp', width: 40, height: 30 });
    expect(await count()).toBe(before + 1);
  });

  it('takes images up to 20 MB and other files up to 10 MB: 413 beyond, nothing stored', async () => {
    const before = await count();
    const bigPdf = Buffer.concat([PDF, Buffer.alloc(10 * 1024 * 1024 - PDF.length + 1, 0x20)]);
    expectProblem(await asReply(upload(alice, bigPdf, { type: 'application/pdf' })), 413, 'PAYLOAD_TOO_LARGE');
    // A photo over 10 MB is fine: it is compressed.
    const noisy = await sharp({
      create: {
        width: 2400,
        height: 2000,
        channels: 3,
        background: '#808080',
        noise: { type: 'gaussian', mean: 128, sigma: 60 },
      },
    })
      .png({ compressionLevel: 0 })
      .toBuffer();
    expect(noisy.length).toBeGreaterThan(10 * 1024 * 1024);
    expect(noisy.length).toBeLessThan(20 * 1024 * 1024);
    const image = created(await upload(alice, noisy, { type: 'image/png' }));
    expect(image).toMatchObject({ width: 2048, contentType: 'image/webp' });
    expect(image.size as number).toBeLessThan(noisy.length);
    // Beyond 20 MB, refused on the declared length before it is read.
    const huge = await rawUpload(Buffer.concat([PDF, Buffer.alloc(20 * 1024 * 1024, 0x20)]));
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(await count()).toBe(before + 1);
  });

  it("lets the shop's staff upload into a booking's room before they ever opened it, joining it as a post would", async () => {
    const pete = await signedInUser(fx.db, keys, { tenantId: shop.tenantId, roles: ['partner-admin'], name: 'Pete' });
    const upload1 = created(await upload(pete, PDF, { type: 'application/pdf', name: 'estimate.pdf' }));
    expect(upload1.name).toBe('estimate.pdf');
    const room = await api('GET', `/chat/rooms/${roomId}`, alice);
    expect(room.body.participants).toContainEqual(
      expect.objectContaining({ userId: pete.userId, tenantId: shop.tenantId, role: 'shop' }),
    );
    expect((await post(pete, 'The estimate', [upload1.id as string])).status).toBe(201);
    // Another shop's admin still finds no such room.
    const stranger = await upload(oscar, PDF, { type: 'application/pdf' });
    expect(stranger.status).toBe(404);
    expect(stranger.body.code).toBe('CHAT_ROOM_NOT_FOUND');
  });

  it('lets only the uploader attach an upload, once, in its own room', async () => {
    const mine = created(await upload(alice, PDF, { type: 'application/pdf' }));
    const lastSeq = async (): Promise<number> =>
      (await api('GET', `/chat/rooms/${roomId}`, alice)).body.lastSeq as number;
    const seq = await lastSeq();
    // Pam cannot send Alice's upload, nor can anyone send an id that is no upload.
    expectProblem(await post(pam, 'Taking it', [mine.id as string]), 422, 'CHAT_ATTACHMENT_INVALID');
    expectProblem(await post(alice, 'Ghost', [randomUUID()]), 422, 'CHAT_ATTACHMENT_INVALID');
    expect(await lastSeq()).toBe(seq);
    expect((await post(alice, 'Mine', [mine.id as string])).status).toBe(201);
    // Sent once; a second message cannot carry it again, and the failed message is not stored.
    const again = await post(alice, 'Again', [mine.id as string]);
    expectProblem(again, 422, 'CHAT_ATTACHMENT_INVALID');
    expect(again.body.attachmentIds).toEqual([mine.id]);
    expect(await lastSeq()).toBe(seq + 1);
  });

  it('replays an upload retried with the same Idempotency-Key instead of storing it twice', async () => {
    const before = await count();
    const key = randomUUID();
    const first = created(await upload(alice, PDF, { type: 'application/pdf', headers: { 'idempotency-key': key } }));
    const retry = await upload(alice, PDF, { type: 'application/pdf', headers: { 'idempotency-key': key } });
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await count()).toBe(before + 1);
  });

  it('fingerprints the bytes: the same Idempotency-Key with other bytes is 422 and stores nothing', async () => {
    const key = randomUUID();
    const first = created(await upload(alice, PDF, { type: 'application/pdf', headers: { 'idempotency-key': key } }));
    const before = await count();
    const other = Buffer.concat([PDF, Buffer.from('% another revision\n', 'latin1')]);
    const reused = await upload(alice, other, { type: 'application/pdf', headers: { 'idempotency-key': key } });
    expect(reused.status, JSON.stringify(reused.body)).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await count()).toBe(before);
    // The first bytes again still get the stored answer, Location included.
    const again = await upload(alice, PDF, { type: 'application/pdf', headers: { 'idempotency-key': key } });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first);
    expect(again.headers.get('location')).toBe(first.url);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('refuses a cross-site simple POST of a file (no custom header, no token)', async () => {
    const res = await fetch(`${fx.api.url}/api/chat/rooms/${roomId}/attachments`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status).toBe(415);
    await res.body?.cancel();
  });

  it('cleans up uploads no message claimed within a day, and attachments of deleted messages', async () => {
    const stale = created(await upload(alice, PDF, { type: 'application/pdf' }));
    const fresh = created(await upload(alice, PDF, { type: 'application/pdf' }));
    const sent = created(await upload(alice, PDF, { type: 'application/pdf' }));
    const kept = created(await upload(alice, PDF, { type: 'application/pdf' }));
    const deletedMessage = await post(alice, 'Oops', [sent.id as string]);
    expect((await post(alice, 'Keep', [kept.id as string])).status).toBe(201);
    await fx.db.query(
      `UPDATE chat_attachments SET created_at = now() - interval '25 hours' WHERE id = ANY ($1::uuid[])`,
      [[stale.id, kept.id]],
    );
    expect((await api('DELETE', `/chat/messages/${deletedMessage.body.id as string}`, alice)).status).toBe(204);
    // Gone for readers at once, before any cleanup ran.
    expect((await download(pam, sent.id as string)).status).toBe(404);

    const removed = await cleanupChatAttachments(fx.db, storage, { batch: 1 });
    expect(removed).toBeGreaterThanOrEqual(2);
    const left = await fx.db.query<{ id: string }>('SELECT id FROM chat_attachments WHERE id = ANY ($1::uuid[])', [
      [stale.id, fresh.id, sent.id, kept.id],
    ]);
    expect(left.rows.map((r) => r.id).sort()).toEqual([fresh.id, kept.id].sort());
    expect(await storage.get(`chat/${roomId}/${stale.id as string}`)).toBeNull();
    expect(await storage.get(`chat/${roomId}/${sent.id as string}`)).toBeNull();
    expect(await storage.head(`chat/${roomId}/${kept.id as string}`)).not.toBeNull();
    expect((await download(pam, kept.id as string)).status).toBe(200);
  });

  async function count(): Promise<number> {
    const { rows } = await fx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM chat_attachments');
    return rows[0]!.n;
  }

  async function asReply(res: Promise<Uploaded>): Promise<Reply> {
    const r = await res;
    return { status: r.status, type: r.headers.get('content-type'), body: r.body, headers: r.headers };
  }

  /** A POST with a declared length, sent with node:http: the server may answer before the body is through. */
  function rawUpload(bytes: Buffer): Promise<{ status: number; body: string }> {
    const url = new URL(`${fx.api.url}/api/chat/rooms/${roomId}/attachments`);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            authorization: `Bearer ${alice.token}`,
            'content-type': 'application/pdf',
            'content-length': String(bytes.length),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      // The server closes the connection after its answer: writing the rest may fail, which is fine.
      req.on('error', (err) =>
        err.message.includes('EPIPE') || err.message.includes('ECONNRESET') ? undefined : reject(err),
      );
      req.end(bytes);
    });
  }
});
