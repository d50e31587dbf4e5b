import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, ok, say, startChatWorld, type ChatWorld } from '../chat/test-chat.js';
import type { ChatMessageView } from '../chat/views.js';
import { backends } from '../test-fixtures.js';
import type { ChatSubscribeAck } from './chat-rooms.js';
import { userRoom } from './gateway.js';
import { liveSockets } from './test-sockets.js';

/** Resolves when `check` holds, polling; fails after `ms` with `what`. */
async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const subscribe = (socket: Socket, roomId: string, afterSeq: number): Promise<ChatSubscribeAck> =>
  socket.timeout(10_000).emitWithAck('chat_subscribe', { roomId, afterSeq }) as Promise<ChatSubscribeAck>;

/**
 * Chat over Socket.io through the whole path: a message posted over REST commits with its outbox
 * event, the relay puts it on the bus, and the gateway opens its body and emits it to `chat:<roomId>`,
 * which only sockets whose user takes part in the room joined (checked in the database).
 */
describe.each(backends('api_chat_live'))('chat live on %s', (_name, open) => {
  let w: ChatWorld;
  let room: string;
  const sockets = liveSockets(() => w.fx.api.url);

  beforeAll(async () => {
    w = await startChatWorld(open, 'chat-live-shop');
    room = ok(await api(w.fx, 'POST', '/chat/rooms', w.alice, { kind: 'booking', bookingId: w.aliceBooking }), 201)
      .id as string;
    ok(await api(w.fx, 'POST', '/chat/rooms', w.pam, { kind: 'booking', bookingId: w.aliceBooking }), 200);
  });
  afterAll(async () => {
    sockets.closeAll();
    await w?.fx.close();
  });

  it('delivers messages, reads, deletions and typing to participants only', async () => {
    const alice = await sockets.live(w.alice.token);
    const pam = await sockets.live(w.pam.token);
    const bob = await sockets.live(w.bob.token);
    expect(await subscribe(alice, room, 0)).toEqual({ ok: true, missed: [], more: false });
    expect(await subscribe(pam, room, 0)).toMatchObject({ ok: true });
    expect(await subscribe(bob, room, 0)).toMatchObject({ ok: false, error: { code: 'CHAT_ROOM_NOT_FOUND' } });
    expect(await subscribe(alice, 'not-a-uuid', 0)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });

    const posted = ok(await api(w.fx, 'POST', `/chat/rooms/${room}/messages`, w.pam, say('Your car is ready')), 201);
    const live = await sockets.arrival(
      alice,
      'chat_message',
      (p) => (p.message as { id: string }).id === posted.id,
      10_000,
    );
    expect(live).toEqual({
      roomId: room,
      message: expect.objectContaining({ seq: posted.seq, body: 'Your car is ready', sender: posted.sender }),
    });
    expect(live.message).not.toHaveProperty('sealed');

    ok(await api(w.fx, 'PUT', `/chat/messages/${posted.id as string}/read`, w.alice));
    expect(
      await sockets.arrival(
        pam,
        'chat_read',
        (p) => p.userId === w.alice.userId && p.readUpToSeq === posted.seq,
        10_000,
      ),
    ).toMatchObject({ roomId: room });

    pam.emit('chat_typing', { roomId: room });
    expect(await sockets.arrival(alice, 'chat_typing', (p) => p.roomId === room, 10_000)).toEqual({
      roomId: room,
      userId: w.pam.userId,
      displayName: 'Pam',
    });

    expect((await api(w.fx, 'DELETE', `/chat/messages/${posted.id as string}`, w.pam)).status).toBe(204);
    expect(await sockets.arrival(alice, 'chat_message_deleted', (p) => p.messageId === posted.id, 10_000)).toEqual({
      roomId: room,
      messageId: posted.id,
      seq: posted.seq,
    });

    // Bob, outside the room, heard none of it; the typing went to the others, not back to Pam.
    expect(sockets.received(bob).filter((r) => r.event.startsWith('chat_'))).toEqual([]);
    expect(sockets.received(pam).filter((r) => r.event === 'chat_typing')).toEqual([]);
  });

  it('loses nothing and shows nothing twice across reconnects mid-stream', async () => {
    const total = 60;
    const start = (ok(await api(w.fx, 'GET', `/chat/rooms/${room}`, w.alice)).lastSeq as number) + 0;
    // The client: messages kept by seq; shown in order once the next seq is there.
    const bySeq = new Map<number, ChatMessageView>();
    const shown: ChatMessageView[] = [];
    let arrivals = 0;
    const keep = (m: ChatMessageView): void => {
      arrivals++;
      if (m.seq <= start || bySeq.has(m.seq)) return;
      bySeq.set(m.seq, m);
      while (bySeq.has(start + shown.length + 1)) shown.push(bySeq.get(start + shown.length + 1)!);
    };
    const lastShown = (): number => start + shown.length;
    let socket: Socket | undefined;
    const connect = async (): Promise<void> => {
      socket = await sockets.live(w.alice.token);
      socket.on('chat_message', (p: { roomId: string; message: ChatMessageView }) => {
        if (p.roomId === room) keep(p.message);
      });
      // Resubscribe from the last message shown: the ack carries what was missed meanwhile.
      for (let more = true; more;) {
        const ack = await subscribe(socket, room, lastShown());
        if (!ack.ok) throw new Error(`subscribe refused: ${ack.error.code}`);
        for (const m of ack.missed) keep(m);
        more = ack.more;
      }
    };
    await connect();

    // The shop writes a stream while the reader's connection is cut four times, twice by the
    // client and twice by the server, each time while messages keep coming.
    let sent = 0;
    const writer = (async () => {
      for (; sent < total; sent++)
        ok(await api(w.fx, 'POST', `/chat/rooms/${room}/messages`, w.pam, say(`stream ${sent + 1}`)), 201);
    })();
    for (const [at, by] of [
      [10, 'client'],
      [22, 'server'],
      [35, 'client'],
      [48, 'server'],
    ] as const) {
      await until(() => sent >= at, `${at} messages sent`);
      if (by === 'client') socket!.disconnect();
      else w.fx.api.io.in(userRoom(w.alice.userId)).disconnectSockets(true);
      await until(() => socket!.disconnected, 'the disconnect');
      // Messages go on while the reader is away.
      await until(() => sent >= at + 3, 'messages while disconnected');
      await connect();
    }
    await writer;
    await until(() => shown.length >= total, `all ${total} messages shown (have ${shown.length})`);

    expect(shown.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => start + 1 + i));
    expect(shown.map((m) => m.body)).toEqual(Array.from({ length: total }, (_, i) => `stream ${i + 1}`));
    expect(new Set(shown.map((m) => m.id)).size).toBe(total);
    // Every message reached the client at least once, live or in a catch-up.
    expect(arrivals).toBeGreaterThanOrEqual(total);
  });

  it('tells the room when someone leaves, and their sockets stop following it at once', async () => {
    ok(await api(w.fx, 'GET', `/chat/rooms/${room}`, w.tina)); // the technician joins by reading
    const alice = await sockets.live(w.alice.token);
    const tina = await sockets.live(w.tina.token);
    expect(await subscribe(alice, room, 0)).toMatchObject({ ok: true });
    expect(await subscribe(tina, room, 0)).toMatchObject({ ok: true });

    const left = ok(await api(w.fx, 'POST', `/chat/rooms/${room}/leave`, w.tina));
    const line = left.message as ChatMessageView;
    expect(line).toMatchObject({ kind: 'participant_left', body: '', sender: { userId: w.tina.userId } });
    const live = await sockets.arrival(
      alice,
      'chat_message',
      (p) => (p.message as { id: string }).id === line.id,
      10_000,
    );
    expect(live.message).toMatchObject({ kind: 'participant_left', seq: line.seq, sender: { displayName: 'Tina' } });
    // Tina's own socket hears the line too, then no more of the room.
    await sockets.arrival(tina, 'chat_message', (p) => (p.message as { id: string }).id === line.id, 10_000);

    const after = ok(await api(w.fx, 'POST', `/chat/rooms/${room}/messages`, w.alice, say('Thanks, Tina')), 201);
    await sockets.arrival(alice, 'chat_message', (p) => (p.message as { id: string }).id === after.id, 10_000);
    tina.emit('chat_typing', { roomId: room });
    // A round trip on Tina's connection: anything the room sent her before it would have arrived first.
    await subscribe(tina, '00000000-0000-4000-8000-000000000000', 0);
    const tinaGot = sockets.received(tina).filter((r) => r.event === 'chat_message');
    expect(tinaGot.map((r) => (r.payload.message as { id: string }).id)).not.toContain(after.id);
    expect(
      sockets.received(alice).filter((r) => r.event === 'chat_typing' && r.payload.userId === w.tina.userId),
    ).toEqual([]);
    // The room no longer lists her; she is no longer in it to leave again.
    const seen = ok(await api(w.fx, 'GET', `/chat/rooms/${room}`, w.alice));
    expect((seen.participants as { userId: string }[]).map((p) => p.userId)).not.toContain(w.tina.userId);
    expect((await api(w.fx, 'POST', `/chat/rooms/${room}/leave`, w.tina)).status).toBe(404);
  });
});
