import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../server.js';
import { auditLog, backends, call, expectProblem, outboxPayloads, type Reply } from '../test-fixtures.js';
import type { TestUser } from '../roles/test-users.js';
import { devKeyRing, openBody, type ChatKeyRing } from './crypto.js';
import { api as callApi, CHAT_ADMIN_TOKEN, ok, say, startChatWorld, type ChatWorld } from './test-chat.js';

interface Message {
  id: string;
  seq: number;
  body: string;
  clientMessageId: string;
  sender: { userId: string; tenantId: string; displayName: string };
  mentions: string[];
  readBy: { userId: string; readAt: string }[];
  deletedAt: string | null;
}

describe.each(backends('api_chat'))('chat on %s', (_name, open) => {
  let w: ChatWorld;
  let room: string;

  const api = (method: string, path: string, as: TestUser | string, body?: unknown): Promise<Reply> =>
    callApi(w.fx, method, path, as, body);
  const post = async (as: TestUser, text: string, extra: Record<string, unknown> = {}, roomId = room) =>
    ok(await api('POST', `/chat/rooms/${roomId}/messages`, as, say(text, extra)), 201) as unknown as Message;
  const page = async (as: TestUser, query: string, roomId = room) =>
    ok(await api('GET', `/chat/rooms/${roomId}/messages${query}`, as)) as unknown as {
      items: Message[];
      next: number | null;
    };

  beforeAll(async () => {
    w = await startChatWorld(open, 'chat-shop');
  });
  afterAll(async () => {
    await w?.fx.close();
  });

  it("opens one room per booking: the customer's, joined by the shop's staff on their first read", async () => {
    const created = ok(await api('POST', '/chat/rooms', w.alice, { kind: 'booking', bookingId: w.aliceBooking }), 201);
    room = created.id as string;
    expect(created).toMatchObject({ kind: 'booking', bookingId: w.aliceBooking, lastSeq: 0, unread: 0 });
    expect(created.participants).toEqual([
      { userId: w.alice.userId, tenantId: 'consumers', role: 'customer', displayName: 'Alice' },
    ]);
    // The shop asks for the booking's room: the same room (200), and Pam is in it now.
    const again = ok(await api('POST', '/chat/rooms', w.pam, { kind: 'booking', bookingId: w.aliceBooking }), 200);
    expect(again.id).toBe(room);
    expect((again.participants as { userId: string; role: string }[]).map((p) => [p.userId, p.role])).toEqual([
      [w.alice.userId, 'customer'],
      [w.pam.userId, 'shop'],
    ]);
    // A technician of the shop reads it and joins too.
    ok(await api('GET', `/chat/rooms/${room}`, w.tina));
    const seen = ok(await api('GET', `/chat/rooms/${room}`, w.alice));
    expect((seen.participants as unknown[]).length).toBe(3);
    // Everyone's list shows it.
    for (const who of [w.alice, w.pam, w.tina]) {
      const mine = ok(await api('GET', '/chat/rooms', who));
      expect((mine.items as { id: string }[]).map((r) => r.id)).toContain(room);
    }
  });

  it('numbers messages per room and answers a retried client id with the stored message', async () => {
    const first = await post(w.alice, 'Hello, is the car ready on Friday?');
    expect(first).toMatchObject({
      seq: 1,
      body: 'Hello, is the car ready on Friday?',
      sender: { userId: w.alice.userId, tenantId: 'consumers', displayName: 'Alice' },
      deletedAt: null,
    });
    const retry = await api('POST', `/chat/rooms/${room}/messages`, w.alice, {
      clientMessageId: first.clientMessageId,
      body: 'Hello, is the car ready on Friday?',
    });
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ id: first.id, seq: 1 });
    // The same client id from another sender is another message.
    const reply = ok(
      await api('POST', `/chat/rooms/${room}/messages`, w.pam, {
        clientMessageId: first.clientMessageId,
        body: 'Yes!',
      }),
      201,
    );
    expect(reply.seq).toBe(2);
    const { items } = await page(w.tina, '?afterSeq=0');
    expect(items.map((m) => [m.seq, m.body])).toEqual([
      [1, 'Hello, is the car ready on Friday?'],
      [2, 'Yes!'],
    ]);
    expectProblem(await api('POST', `/chat/rooms/${room}/messages`, w.alice, say('   ')), 400, 'VALIDATION_FAILED');
    expectProblem(
      await api('POST', `/chat/rooms/${room}/messages`, w.alice, say('x'.repeat(4001))),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('gives concurrent posts gap-free, distinct sequence numbers', async () => {
    const before = (await page(w.alice, '?limit=1')).items[0]!.seq;
    const posts = await Promise.all(
      Array.from({ length: 24 }, (_, i) => post([w.alice, w.pam, w.tina][i % 3]!, `burst ${i}`)),
    );
    const seqs = posts.map((m) => m.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 24 }, (_, i) => before + 1 + i));
    const { items } = await page(w.alice, `?afterSeq=${before}&limit=200`);
    expect(items.map((m) => m.seq)).toEqual(seqs);
    expect(new Set(items.map((m) => m.body)).size).toBe(24);
  });

  it('pages back through history and forward from a seq', async () => {
    const last = (await page(w.alice, '?limit=1')).items[0]!.seq;
    const latest = await page(w.alice, '?limit=10');
    expect(latest.items.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => last - i));
    expect(latest.next).toBe(last - 9);
    const older = await page(w.alice, `?beforeSeq=${latest.next}&limit=10`);
    expect(older.items.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => last - 10 - i));
    // Walk the whole room backwards: every seq once.
    const back: number[] = [];
    let cursor: number | null = null;
    do {
      const p = await page(w.alice, `?limit=7${cursor === null ? '' : `&beforeSeq=${cursor}`}`);
      back.push(...p.items.map((m) => m.seq));
      cursor = p.next;
    } while (cursor !== null);
    expect(back).toEqual(Array.from({ length: last }, (_, i) => last - i));
    // And forwards.
    const forward: number[] = [];
    let after = 0;
    for (;;) {
      const p = await page(w.alice, `?afterSeq=${after}&limit=9`);
      forward.push(...p.items.map((m) => m.seq));
      if (p.next === null) break;
      after = p.next;
    }
    expect(forward).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expectProblem(
      await api('GET', `/chat/rooms/${room}/messages?afterSeq=1&beforeSeq=5`, w.alice),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('marks a message and every earlier one read, with a receipt per message', async () => {
    const a = await post(w.alice, 'Receipt one');
    const b = await post(w.alice, 'Receipt two');
    const c = await post(w.alice, 'Receipt three');
    const roomBefore = ok(await api('GET', `/chat/rooms/${room}`, w.pam));
    expect(roomBefore.unread as number).toBeGreaterThanOrEqual(3);
    const read = ok(await api('PUT', `/chat/messages/${b.id}/read`, w.pam));
    expect(read).toEqual({ roomId: room, readUpToSeq: b.seq });
    const { items } = await page(w.alice, `?afterSeq=${a.seq - 1}&limit=3`);
    const readers = (m: Message): string[] => m.readBy.map((r) => r.userId);
    expect(items.map(readers)).toEqual([[w.pam.userId], [w.pam.userId], []]);
    // Reading an earlier message again never moves the mark back.
    expect(ok(await api('PUT', `/chat/messages/${a.id}/read`, w.pam))).toEqual({ roomId: room, readUpToSeq: b.seq });
    const after = ok(await api('GET', `/chat/rooms/${room}`, w.pam));
    expect(after).toMatchObject({ readUpToSeq: b.seq, unread: 1 });
    ok(await api('PUT', `/chat/messages/${c.id}/read`, w.pam));
    expect(ok(await api('GET', `/chat/rooms/${room}`, w.pam))).toMatchObject({ readUpToSeq: c.seq, unread: 0 });
    const reads = (await outboxPayloads(w.fx.db, 'chat.read')).filter((p) => p.userId === w.pam.userId);
    expect(reads.map((p) => p.readUpToSeq)).toEqual([b.seq, c.seq]);
  });

  it('lets only participants be mentioned, and announces mentions and participants in the outbox', async () => {
    expectProblem(
      await api('POST', `/chat/rooms/${room}/messages`, w.pam, say('Hey @Oscar', { mentions: [w.oscar.userId] })),
      422,
      'CHAT_MENTION_INVALID',
    );
    const m = await post(w.pam, 'Alice, your car is ready', { mentions: [w.alice.userId] });
    expect(m.mentions).toEqual([w.alice.userId]);
    const events = await outboxPayloads(w.fx.db, 'chat.message');
    const event = events.find((e) => (e.message as { id: string }).id === m.id)!;
    expect(event).toMatchObject({
      roomId: room,
      message: { seq: m.seq, mentions: [w.alice.userId], sender: { userId: w.pam.userId }, body: '' },
      room: { kind: 'booking', bookingId: w.aliceBooking, title: null },
    });
    expect((event.participantUserIds as string[]).sort()).toEqual([w.alice.userId, w.pam.userId, w.tina.userId].sort());
  });

  it('stores bodies encrypted (not in the clear, not in the outbox) and bound to their message', async () => {
    const secret = `my card PIN is ${randomUUID()}`;
    const m = await post(w.alice, secret);
    const { rows } = await w.fx.db.query<{ ciphertext: Uint8Array; nonce: Uint8Array; key_id: string }>(
      'SELECT ciphertext, nonce, key_id FROM chat_messages WHERE id = $1',
      [m.id],
    );
    const stored = Buffer.from(rows[0]!.ciphertext);
    expect(stored.includes(Buffer.from(secret))).toBe(false);
    expect(stored.includes(Buffer.from('PIN'))).toBe(false);
    expect(rows[0]!.key_id).toBe('dev');
    const sealed = { keyId: 'dev', nonce: Buffer.from(rows[0]!.nonce), ciphertext: stored };
    expect(openBody(devKeyRing(), sealed, room, m.id)).toBe(secret);
    // Copied onto another message, the ciphertext does not open.
    expect(() => openBody(devKeyRing(), sealed, room, randomUUID())).toThrow();
    const { rows: outbox } = await w.fx.db.query<{ payload: unknown }>(
      `SELECT payload FROM outbox_events WHERE topic LIKE 'chat.%'`,
    );
    expect(JSON.stringify(outbox)).not.toContain(secret);
  });

  it('reads messages sealed under an older key after the ring rotates', async () => {
    const k1: ChatKeyRing = { currentKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) };
    const k2: ChatKeyRing = {
      currentKeyId: 'k2',
      keys: new Map([...k1.keys, ['k2', randomBytes(32)]]),
    };
    const serve = (ring: ChatKeyRing): Promise<ApiServer> =>
      startApiServer({
        db: w.fx.db,
        bus: w.fx.bus,
        health: async () => ({}),
        logger: pino({ level: 'silent' }),
        port: 0,
        requireAuth: true,
        identity: { signingKeys: w.keys },
        rateLimit: { enabled: false },
        chat: { keyRing: ring },
      });
    const before = await serve(k1);
    const after = await serve(k2);
    try {
      const send = (server: ApiServer, text: string) =>
        call(server.url, 'POST', `/api/chat/rooms/${room}/messages`, { token: w.pam.token, body: say(text) });
      const old = (await send(before, 'sealed with k1')).body as unknown as Message;
      const fresh = (await send(after, 'sealed with k2')).body as unknown as Message;
      const { rows } = await w.fx.db.query<{ id: string; key_id: string }>(
        'SELECT id, key_id FROM chat_messages WHERE id = ANY ($1::uuid[])',
        [[old.id, fresh.id]],
      );
      expect(Object.fromEntries(rows.map((r) => [r.id, r.key_id]))).toEqual({ [old.id]: 'k1', [fresh.id]: 'k2' });
      const read = await call(after.url, 'GET', `/api/chat/rooms/${room}/messages?afterSeq=${old.seq - 1}&limit=2`, {
        token: w.alice.token,
      });
      expect((read.body.items as Message[]).map((m) => m.body)).toEqual(['sealed with k1', 'sealed with k2']);
    } finally {
      await before.close();
      await after.close();
    }
  });

  it('answers 404 on every route to owners and shops outside the room', async () => {
    const m = await post(w.alice, 'Only for the shop');
    for (const stranger of [w.bob, w.oscar]) {
      expectProblem(await api('GET', `/chat/rooms/${room}`, stranger), 404, 'CHAT_ROOM_NOT_FOUND');
      expectProblem(await api('GET', `/chat/rooms/${room}/messages`, stranger), 404, 'CHAT_ROOM_NOT_FOUND');
      expectProblem(
        await api('POST', `/chat/rooms/${room}/messages`, stranger, say('let me in')),
        404,
        'CHAT_ROOM_NOT_FOUND',
      );
      expectProblem(await api('PUT', `/chat/messages/${m.id}/read`, stranger), 404, 'CHAT_MESSAGE_NOT_FOUND');
      expectProblem(
        await api('POST', `/chat/messages/${m.id}/report`, stranger, { reason: 'spam' }),
        404,
        'CHAT_MESSAGE_NOT_FOUND',
      );
      expectProblem(await api('DELETE', `/chat/messages/${m.id}`, stranger), 404, 'CHAT_MESSAGE_NOT_FOUND');
      expectProblem(
        await api('POST', '/chat/rooms', stranger, { kind: 'booking', bookingId: w.aliceBooking }),
        404,
        'BOOKING_NOT_FOUND',
      );
      const mine = ok(await api('GET', '/chat/rooms', stranger));
      expect((mine.items as { id: string }[]).map((r) => r.id)).not.toContain(room);
    }
    // A room that does not exist answers the same.
    expectProblem(await api('GET', `/chat/rooms/${randomUUID()}`, w.alice), 404, 'CHAT_ROOM_NOT_FOUND');
    expect((await outboxPayloads(w.fx.db, 'chat.message')).some((p) => JSON.stringify(p).includes('let me in'))).toBe(
      false,
    );
  });

  it('takes reports from participants and lets senders and moderators delete (moderators audited)', async () => {
    const rude = await post(w.tina, 'something rude');
    const first = ok(await api('POST', `/chat/messages/${rude.id}/report`, w.alice, { reason: 'insulting' }), 201);
    const second = ok(
      await api('POST', `/chat/messages/${rude.id}/report`, w.alice, { reason: 'still insulting' }),
      201,
    );
    expect(second.id).toBe(first.id);
    expectProblem(await api('GET', '/chat/reports', w.pam), 403, 'FORBIDDEN');
    const reports = ok(await api('GET', '/chat/reports', w.sue));
    expect(reports.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: first.id,
          messageId: rude.id,
          reporterUserId: w.alice.userId,
          reason: 'insulting',
        }),
      ]),
    );
    // Another participant may not delete it; support (not a participant) may, and it is audited.
    expectProblem(await api('DELETE', `/chat/messages/${rude.id}`, w.alice), 403, 'FORBIDDEN');
    expect((await api('DELETE', `/chat/messages/${rude.id}`, w.sue)).status).toBe(204);
    const audit = (await auditLog(w.fx.db)).find((r) => r.action === 'chat.message.delete');
    expect(audit).toMatchObject({ actor: `user:${w.sue.userId}`, target: `chat-message:${rude.id}` });
    const tomb = (await page(w.alice, `?afterSeq=${rude.seq - 1}&limit=1`)).items[0]!;
    expect(tomb).toMatchObject({ id: rude.id, seq: rude.seq, body: '', mentions: [] });
    expect(tomb.deletedAt).not.toBeNull();
    const { rows } = await w.fx.db.query<{ ciphertext: unknown }>(
      'SELECT ciphertext FROM chat_messages WHERE id = $1',
      [rude.id],
    );
    expect(rows[0]!.ciphertext).toBeNull();
    const open = ok(await api('GET', '/chat/reports', w.sue));
    expect((open.items as { id: string }[]).map((r) => r.id)).not.toContain(first.id);
    // A sender deletes their own.
    const oops = await post(w.alice, 'wrong chat, sorry');
    expect((await api('DELETE', `/chat/messages/${oops.id}`, w.alice)).status).toBe(204);
    const deleted = await outboxPayloads(w.fx.db, 'chat.message-deleted');
    expect(deleted.map((d) => d.messageId)).toEqual(expect.arrayContaining([rude.id, oops.id]));
    // Support reads a booking room it is not in only as a moderator, audited.
    ok(await api('GET', `/chat/rooms/${room}/messages?limit=1`, w.sue));
    expect((await auditLog(w.fx.db)).find((r) => r.action === 'chat.room.read')).toMatchObject({
      target: `chat-room:${room}`,
    });
    // ...and cannot post there.
    expectProblem(await api('POST', `/chat/rooms/${room}/messages`, w.sue, say('hi')), 404, 'CHAT_ROOM_NOT_FOUND');
  });

  it('opens support rooms between the caller and platform support, who join when they answer', async () => {
    const support = ok(await api('POST', '/chat/rooms', w.bob, { kind: 'support', subject: 'Refund question' }), 201);
    expect(support).toMatchObject({ kind: 'support', title: 'Refund question', bookingId: null });
    const id = support.id as string;
    await post(w.bob, 'Where is my refund?', {}, id);
    // Support reads without joining, then answers and is a participant.
    const seen = ok(await api('GET', `/chat/rooms/${id}`, w.sue));
    expect((seen.participants as { userId: string }[]).map((p) => p.userId)).toEqual([w.bob.userId]);
    const answer = await post(w.sue, 'Looking into it', {}, id);
    expect(answer.sender).toMatchObject({ userId: w.sue.userId, tenantId: 'platform', displayName: 'Sue' });
    const now = ok(await api('GET', `/chat/rooms/${id}`, w.bob));
    expect((now.participants as { userId: string; role: string }[]).map((p) => [p.userId, p.role])).toEqual([
      [w.bob.userId, 'customer'],
      [w.sue.userId, 'support'],
    ]);
    // Another owner does not see it.
    expectProblem(await api('GET', `/chat/rooms/${id}`, w.alice), 404, 'CHAT_ROOM_NOT_FOUND');
  });

  it("makes groups of the caller's own organisation only", async () => {
    expectProblem(
      await api('POST', '/chat/rooms', w.pam, { kind: 'group', title: 'Mixed', participantIds: [w.oscar.userId] }),
      422,
      'CHAT_PARTICIPANTS_INVALID',
    );
    const group = ok(
      await api('POST', '/chat/rooms', w.pam, { kind: 'group', title: 'Workshop', participantIds: [w.tina.userId] }),
      201,
    );
    const id = group.id as string;
    expect((group.participants as { userId: string; role: string }[]).map((p) => [p.userId, p.role])).toEqual(
      expect.arrayContaining([
        [w.pam.userId, 'member'],
        [w.tina.userId, 'member'],
      ]),
    );
    expect((group.participants as unknown[]).length).toBe(2);
    await post(w.tina, 'Lift 2 is broken', {}, id);
    // Pam's rooms, newest activity first, a page at a time: the group, then the booking's room.
    const first = ok(await api('GET', '/chat/rooms?limit=1', w.pam));
    expect((first.items as { id: string; unread: number }[]).map((r) => [r.id, r.unread])).toEqual([[id, 1]]);
    const second = ok(await api('GET', `/chat/rooms?limit=1&cursor=${first.next as string}`, w.pam));
    expect((second.items as { id: string }[]).map((r) => r.id)).toEqual([room]);
    // A car owner cannot make groups (the policy allows owners only their bookings' rooms).
    expectProblem(
      await api('POST', '/chat/rooms', w.alice, { kind: 'group', title: 'Owners', participantIds: [w.bob.userId] }),
      403,
      'FORBIDDEN',
    );
    expectProblem(await api('GET', `/chat/rooms/${id}`, w.oscar), 404, 'CHAT_ROOM_NOT_FOUND');
    expectProblem(
      await api('POST', '/chat/rooms', w.pam, {
        kind: 'group',
        title: 'Too many',
        participantIds: Array.from({ length: 21 }, () => randomUUID()),
      }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it("lets participants leave, with a line in the room; the booking's customer stays", async () => {
    const group = ok(
      await api('POST', '/chat/rooms', w.pam, { kind: 'group', title: 'Night shift', participantIds: [w.tina.userId] }),
      201,
    );
    const id = group.id as string;
    await post(w.pam, 'Who closes tonight?', {}, id);
    // Tina leaves, once: a retry with the same Idempotency-Key answers the same line.
    const key = randomUUID();
    const leave = () =>
      call(w.fx.api.url, 'POST', `/api/chat/rooms/${id}/leave`, {
        token: w.tina.token,
        headers: { 'x-requested-with': 'test', 'idempotency-key': key },
      });
    const first = await leave();
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const again = await leave();
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const line = first.body.message as Message & { kind: string };
    expect(line).toMatchObject({ roomId: id, seq: 2, kind: 'participant_left', body: '', mentions: [] });
    expect(line.sender).toMatchObject({ userId: w.tina.userId, displayName: 'Tina' });
    // Pam sees the line once, after the message, and Tina no longer among the participants.
    const seen = await page(w.pam, '?afterSeq=0', id);
    expect(seen.items.map((m) => [m.seq, (m as Message & { kind: string }).kind])).toEqual([
      [1, 'text'],
      [2, 'participant_left'],
    ]);
    const bookingRoom = room;
    const listed = ok(await api('GET', `/chat/rooms/${id}`, w.pam));
    expect((listed.participants as { userId: string }[]).map((p) => p.userId)).toEqual([w.pam.userId]);
    // A group is closed: once out, Tina neither reads, posts nor leaves it again.
    expectProblem(await api('GET', `/chat/rooms/${id}`, w.tina), 404, 'CHAT_ROOM_NOT_FOUND');
    expectProblem(await api('POST', `/chat/rooms/${id}/messages`, w.tina, say('back?')), 404, 'CHAT_ROOM_NOT_FOUND');
    expectProblem(await api('POST', `/chat/rooms/${id}/leave`, w.tina), 404, 'CHAT_ROOM_NOT_FOUND');
    // The booking's customer cannot leave their booking's conversation; strangers find no room.
    expectProblem(await api('POST', `/chat/rooms/${bookingRoom}/leave`, w.alice), 409, 'CHAT_LEAVE_NOT_ALLOWED');
    expectProblem(await api('POST', `/chat/rooms/${bookingRoom}/leave`, w.oscar), 404, 'CHAT_ROOM_NOT_FOUND');
  });

  it('is for people: API keys and the admin token cannot post', async () => {
    expectProblem(
      await api('POST', `/chat/rooms/${room}/messages`, CHAT_ADMIN_TOKEN, say('as admin')),
      403,
      'FORBIDDEN',
    );
    // The admin token reads (moderation) without joining.
    const read = ok(await api('GET', `/chat/rooms/${room}/messages?limit=1`, CHAT_ADMIN_TOKEN));
    expect((read.items as unknown[]).length).toBe(1);
  });
});
