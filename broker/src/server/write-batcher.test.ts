import { createServer, connect, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { createWriteBatcher, writeStraightThrough } from './write-batcher.js';

// Real TCP sockets on loopback: what the batcher writes is what the peer reads, in order, and a
// writer is held back (its callback waits) while the peer does not read.
describe('write batcher', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    sockets.length = 0;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function pair(): Promise<{ ours: Socket; peer: Socket }> {
    const accepted = new Promise<Socket>((resolve) => {
      server = createServer(resolve);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server!.address() as { port: number }).port;
    const ours = connect({ port, host: '127.0.0.1' });
    const peer = await accepted;
    await new Promise((resolve) => ours.once('connect', resolve));
    sockets.push(ours, peer);
    return { ours, peer };
  }

  it('delivers every chunk of a turn, in order, and what is flushed before the end', async () => {
    const { ours, peer } = await pair();
    const got: Buffer[] = [];
    peer.on('data', (chunk) => got.push(chunk));
    const ended = new Promise((resolve) => peer.once('end', resolve));
    const writes = createWriteBatcher(ours);
    let acknowledged = 0;
    for (let i = 0; i < 1000; i++) writes.add(Buffer.from(`${i};`), () => acknowledged++);
    expect(acknowledged).toBe(1000); // the socket keeps up: nobody is held back
    writes.add(Buffer.from('last'));
    writes.flush();
    ours.end();
    await ended;
    const text = Buffer.concat(got).toString();
    expect(text).toBe(`${Array.from({ length: 1000 }, (_, i) => `${i};`).join('')}last`);
  });

  it("sends mqtt-packet's packets straight through, in order, without corking the stream per packet", async () => {
    const { ours, peer } = await pair();
    const got: Buffer[] = [];
    peer.on('data', (chunk: Buffer) => got.push(chunk));
    const ended = new Promise((resolve) => peer.once('end', resolve));
    const stream = new Duplex({ read() {}, write: (_chunk, _encoding, callback) => callback() });
    const writes = createWriteBatcher(ours);
    writeStraightThrough(stream, writes, ours);
    const packets = Array.from({ length: 200 }, (_, i) => ({ cmd: 'puback' as const, messageId: i + 1 }));
    for (const packet of packets) expect(mqttPacket.writeToStream(packet, stream)).toBe(true);
    // mqtt-packet corks a stream that has cork() and uncorks it a tick later, once per packet.
    expect(stream.writableCorked).toBe(0);
    writes.flush();
    ours.end();
    await ended;
    expect(Buffer.concat(got)).toEqual(Buffer.concat(packets.map((p) => mqttPacket.generate(p))));
  });

  it('holds writers back while the peer does not read, and lets them go when it does', async () => {
    const { ours, peer } = await pair();
    peer.pause();
    const writes = createWriteBatcher(ours);
    const chunk = Buffer.alloc(16 * 1024, 1);
    let acknowledged = 0;
    let added = 0;
    // Fill the kernel's buffers and the socket's own until a callback is held back.
    while (added === acknowledged && added < 10_000) {
      writes.add(chunk, () => acknowledged++);
      added++;
      if (added % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(acknowledged).toBeLessThan(added);
    let read = 0;
    peer.on('data', (data: Buffer) => (read += data.length));
    peer.resume();
    await expect.poll(() => acknowledged, { timeout: 10_000 }).toBe(added);
    await expect.poll(() => read, { timeout: 10_000 }).toBe(added * chunk.length);
  });

  it("keeps a busy connection's bytes intact when batches reuse one buffer, also while the socket holds one back", async () => {
    const { ours, peer } = await pair();
    peer.pause(); // the kernel's buffers fill, and the socket keeps some batches queued
    const writes = createWriteBatcher(ours);
    const sent: Buffer[] = [];
    // Turns of many small packets (each turn well over a quarter of a batch) with distinct bytes,
    // so bytes overwritten by a reused buffer would show up at the peer.
    let waited = 0; // turns since the socket first kept a batch queued
    for (let turn = 0; waited < 20 && turn < 2_000; turn++) {
      if (ours.writableLength > 0) waited++;
      for (let i = 0; i < 120; i++) {
        const packet = Buffer.alloc(290, (turn * 120 + i) % 251);
        packet.writeUInt32BE(turn * 120 + i, 0);
        sent.push(packet);
        writes.add(packet);
      }
      await new Promise((r) => setImmediate(r));
    }
    expect(waited).toBe(20); // batches did wait in the socket while the next ones were gathered
    const got: Buffer[] = [];
    const expected = Buffer.concat(sent);
    let read = 0;
    peer.on('data', (data: Buffer) => {
      got.push(data);
      read += data.length;
    });
    peer.resume();
    await expect.poll(() => read, { timeout: 10_000 }).toBe(expected.length);
    expect(Buffer.concat(got).equals(expected)).toBe(true);
  });
});
