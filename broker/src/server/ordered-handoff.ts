import type { DurableHandoff } from './broker.js';

/**
 * Where aedes (scripts/patches/aedes-2.0.0-beta.1-b6-read-ahead.patch, option `publishReadAhead`)
 * puts a QoS 1/2 PUBLISH's read release: calling it lets aedes read the connection's next packets
 * while this one's PUBACK still waits.
 */
const RELEASE_READ = Symbol.for('aedes.releaseRead');

type HandedOff = Parameters<DurableHandoff['handoff']>[0] & { [RELEASE_READ]?: () => void };

/** A client's hand-offs not yet settled, and the last one's turn. */
interface Turns {
  pending: number;
  last: Promise<void>;
}

/**
 * The durable hand-off as the broker awaits it before acknowledging a PUBLISH, with reading ahead:
 * once the store holds a message (before it is durable), the client's next packets are read, so a
 * device's window of unacknowledged batches reaches the store instead of one socket read's worth
 * per commit. A later message may then be durable first (it went into another transaction), so
 * each client's messages are answered in the order they arrived: a PUBLISH's PUBACK and its
 * delivery to subscribers wait for the previous one's. [MQTT-4.6.0-2] [MQTT-4.6.0-6]
 */
export function orderedHandoff(handoff: DurableHandoff): (client: object | null, packet: HandedOff) => Promise<void> {
  const turnsOf = new WeakMap<object, Turns>();
  return (client, packet) => {
    const stored = handoff.handoff(packet, packet[RELEASE_READ]);
    if (client === null) return stored; // a Last Will: no connection to answer in order
    const turns = turnsOf.get(client);
    // Nothing of this client's still pending: no turn to wait for (the usual case without read-ahead).
    const turn =
      turns && turns.pending > 0
        ? turns.last.then(
            () => stored,
            () => stored,
          )
        : stored;
    const state = turns ?? { pending: 0, last: turn };
    state.pending++;
    state.last = turn;
    if (!turns) turnsOf.set(client, state);
    const settled = (): void => {
      state.pending--;
    };
    turn.then(settled, settled);
    return turn;
  };
}
