// A share of the realtime bench's client sockets, in a process of its own (a real audience is other
// machines): socket.io-client over WebSocket only, each socket its own connection (`forceNew`). It
// records, per delivered event, the time since the publisher stamped it (`at`), and reports on request.
import { io, type Socket } from 'socket.io-client';
import type { SocketSpec } from './population.js';

/** What the bench asks of a client process. */
export type ClientCommand =
  | {
      kind: 'connect';
      /** Where the sockets connect: socket `id` goes to `urls[id % urls.length]` (a round-robin load balancer). */
      urls: string[];
      sockets: SocketSpec[];
      /** Handshakes in flight at once in this process. */
      concurrency: number;
      /** `gateway`: authenticate with the token, then `subscribe` to the vehicle; `bare`: `join` the rooms. */
      mode: 'gateway' | 'bare';
    }
  | { kind: 'reset' }
  | { kind: 'report' }
  | { kind: 'disconnect' };

export type ClientReply =
  | { kind: 'connected'; ok: number[]; failed: { id: number; reason: string }[] }
  | { kind: 'reset' }
  | {
      kind: 'report';
      received: Record<string, number>;
      /** Publish -> receipt, ms, of every event since the last reset. */
      latencies: number[];
      firstAt: number | null;
      lastAt: number | null;
    }
  | { kind: 'disconnected' };

const EVENTS = ['location', 'booking_update'] as const;
const CONNECT_TIMEOUT_MS = 30_000;

let sockets: Socket[] = [];
let received: Record<string, number> = {};
let latencies: number[] = [];
let firstAt: number | null = null;
let lastAt: number | null = null;

const send = (reply: ClientReply): void => void process.send!(reply);

function onEvent(event: string, payload: { at?: string }): void {
  const now = Date.now();
  received[event] = (received[event] ?? 0) + 1;
  if (typeof payload?.at === 'string') latencies.push(now - Date.parse(payload.at));
  firstAt ??= now;
  lastAt = now;
}

async function open(url: string, spec: SocketSpec, mode: 'gateway' | 'bare'): Promise<Socket> {
  const socket = io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: CONNECT_TIMEOUT_MS,
    ...(mode === 'gateway' ? { auth: { token: spec.token } } : {}),
  });
  sockets.push(socket);
  for (const event of EVENTS) socket.on(event, (payload: { at?: string }) => onEvent(event, payload));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', (err: Error) => reject(err));
  });
  if (mode === 'bare') {
    await socket.timeout(CONNECT_TIMEOUT_MS).emitWithAck('join', spec.rooms);
  } else if (spec.vehicleId) {
    const ack = (await socket.timeout(CONNECT_TIMEOUT_MS).emitWithAck('subscribe', { vehicleId: spec.vehicleId })) as {
      ok: boolean;
      error?: { code: string };
    };
    if (!ack.ok) throw new Error(`subscribe refused: ${ack.error?.code ?? 'unknown'}`);
  }
  return socket;
}

async function connectAll(command: Extract<ClientCommand, { kind: 'connect' }>): Promise<void> {
  const ok: number[] = [];
  const failed: { id: number; reason: string }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, command.concurrency) }, async () => {
      while (next < command.sockets.length) {
        const spec = command.sockets[next++]!;
        try {
          await open(command.urls[spec.id % command.urls.length]!, spec, command.mode);
          ok.push(spec.id);
        } catch (err) {
          failed.push({ id: spec.id, reason: (err as Error).message });
        }
      }
    }),
  );
  send({ kind: 'connected', ok, failed });
}

process.on('message', (command: ClientCommand) => {
  switch (command.kind) {
    case 'connect':
      void connectAll(command);
      return;
    case 'reset':
      received = {};
      latencies = [];
      firstAt = null;
      lastAt = null;
      send({ kind: 'reset' });
      return;
    case 'report':
      send({ kind: 'report', received, latencies, firstAt, lastAt });
      return;
    case 'disconnect':
      for (const socket of sockets) socket.disconnect();
      sockets = [];
      send({ kind: 'disconnected' });
      return;
  }
});
