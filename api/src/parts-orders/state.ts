/**
 * The parts order's state machine, one place for the service (the database's trigger in
 * 027_repair_work.sql holds the same table): ordered -> accepted -> shipped -> delivered, and
 * cancelled from ordered or accepted. Each move is made by one side:
 * - the parts shop (supplier) accepts (its stock is taken), ships, and may cancel until it ships
 *   (an accepted order's stock is put back);
 * - the repair center (buyer) confirms delivery (it is the one that receives the parts), and may
 *   cancel an order the supplier has not accepted yet.
 */
export const PARTS_ORDER_STATUSES = ['ordered', 'accepted', 'shipped', 'delivered', 'cancelled'] as const;
export type PartsOrderStatus = (typeof PARTS_ORDER_STATUSES)[number];

export type PartsOrderSide = 'buyer' | 'supplier';
export const PARTS_ORDER_ACTIONS = ['accept', 'ship', 'deliver', 'cancel'] as const;
export type PartsOrderAction = (typeof PARTS_ORDER_ACTIONS)[number];

interface Move {
  from: readonly PartsOrderStatus[];
  to: PartsOrderStatus;
  by: readonly PartsOrderSide[];
}

const MOVES: Record<PartsOrderAction, readonly Move[]> = {
  accept: [{ from: ['ordered'], to: 'accepted', by: ['supplier'] }],
  ship: [{ from: ['accepted'], to: 'shipped', by: ['supplier'] }],
  deliver: [{ from: ['shipped'], to: 'delivered', by: ['buyer'] }],
  cancel: [
    { from: ['ordered'], to: 'cancelled', by: ['buyer', 'supplier'] },
    { from: ['accepted'], to: 'cancelled', by: ['supplier'] },
  ],
};

/** Orders still on their way: a repair order waits for parts while one of these is linked to it. */
export const OPEN_PARTS_ORDER_STATUSES: readonly PartsOrderStatus[] = ['ordered', 'accepted', 'shipped'];

/**
 * Where `action` by `side` takes an order in `from`; a reason when it may not (the service answers
 * 409 with it).
 */
export function nextPartsOrderStatus(
  from: PartsOrderStatus,
  action: PartsOrderAction,
  side: PartsOrderSide,
): { to: PartsOrderStatus } | { refused: string } {
  const moves = MOVES[action];
  const fromOk = moves.filter((m) => m.from.includes(from));
  if (fromOk.length === 0) return { refused: `a parts order that is ${from} cannot be ${pastTense(action)}` };
  const move = fromOk.find((m) => m.by.includes(side));
  if (!move)
    return {
      refused: `the ${side === 'buyer' ? 'ordering repair center' : 'parts shop'} cannot ${action} a parts order that is ${from}`,
    };
  return { to: move.to };
}

function pastTense(action: PartsOrderAction): string {
  return action === 'ship' ? 'shipped' : action === 'cancel' ? 'cancelled' : `${action}ed`;
}
