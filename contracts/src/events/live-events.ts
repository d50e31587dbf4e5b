/**
 * Events that flow from ingest to the realtime edge (Socket.io, webhooks). The in-process bus serves
 * `npm start`; a Redis pub/sub bus implements the same interface when processes are scaled out.
 */
export interface StoredReading {
  /** Signal key from the catalogue, e.g. `engine.rpm`. */
  signal: string;
  /** ISO 8601 sample time. */
  time: string;
  value: number;
}

export interface LiveAlert {
  id: string;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  title: string;
  explanation: string;
  signals: string[];
  at: string;
}

/** What happened to one vehicle; relayed to the vehicle's Socket.io room under its type. */
export type VehicleEvent =
  | { type: 'readings'; tenantId: string; vehicleId: string; readings: StoredReading[] }
  | { type: 'presence'; tenantId: string; vehicleId: string; deviceId: string; online: boolean; at: string }
  | {
      type: 'location';
      tenantId: string;
      vehicleId: string;
      at: string;
      lat: number;
      lon: number;
      speedKmh?: number | undefined;
      headingDeg?: number | undefined;
    }
  | { type: 'dtc'; tenantId: string; vehicleId: string; at: string; codes: { code: string; kind: string }[] }
  | { type: 'alert'; tenantId: string; vehicleId: string; alert: LiveAlert }
  | { type: 'command'; tenantId: string; vehicleId: string; commandId: string; status: string };

/**
 * A credential stopped being valid (revoked, rotated or expired), or what it may do changed. Never
 * relayed to clients: every process that holds live connections (brokers, Socket.io gateways) ends
 * or narrows those it concerns.
 */
export type RevocationEvent =
  /** A device credential was revoked or rotated: every broker ends the device's live sessions. */
  | { type: 'device-revoked'; tenantId: string; vehicleId: string; deviceId: string }
  /** A partner API key was revoked or expired: MQTT, MQTT-over-WebSocket and Socket.io sessions that used it end. */
  | { type: 'api-key-revoked'; tenantId: string; keyId: string }
  /** A user's session was revoked: every API process forgets its cached check, so its tokens stop at once. */
  | { type: 'session-revoked'; tenantId: string; userId: string; sessionId: string }
  | RolesChangedEvent;

/**
 * What someone may do changed (issue 14, RBAC): a role of `tenantId` was created, edited or
 * deleted (no `userId`; `platform` for the platform's roles and templates), a grant of `userId`
 * changed, or a share of `vehicleId` with `tenantId` ended. Every process drops its cached policy
 * for it, and Socket.io gateways end or narrow the live subscriptions it affected.
 */
export interface RolesChangedEvent {
  type: 'roles-changed';
  tenantId: string;
  userId?: string | undefined;
  vehicleId?: string | undefined;
}

/**
 * What happened to a repair booking or its repair order (issue 15), for the shop and the customer.
 * The outbox topics `booking.updated` and `repair-order.status-changed` carry them; the Socket.io
 * gateway relays them under their type to the shop's room and the customer's (docs/realtime.md).
 * `tenantId` is the shop's tenant (the outbox row's); the customer is `customerTenantId` and, for a
 * car owner (or the fleet user who booked), `customerUserId`.
 */
export type MarketplaceEvent =
  | {
      type: 'booking_update';
      tenantId: string;
      bookingId: string;
      partnerId: string;
      customerTenantId: string;
      customerUserId: string | null;
      vehicleId: string | null;
      status: string;
      startsAt: string;
      endsAt: string;
      at: string;
    }
  | {
      type: 'service_status_change';
      tenantId: string;
      repairOrderId: string;
      bookingId: string | null;
      partnerId: string;
      customerTenantId: string;
      customerUserId: string | null;
      vehicleId: string | null;
      from: string | null;
      to: string;
      at: string;
    }
  | PaymentNotificationEvent;

/**
 * A payment changed (issue 16): the outbox topic `payment.updated`, appended in the transaction of
 * every change of a payment, relayed as `payment_notification` to the payer's rooms and the payee
 * shop's (none for a wallet top-up, `partnerId` null). `tenantId` is the payee's tenant.
 */
export interface PaymentNotificationEvent {
  type: 'payment_notification';
  tenantId: string;
  paymentId: string;
  purpose: string;
  bookingId: string | null;
  repairOrderId: string | null;
  partnerId: string | null;
  customerTenantId: string;
  customerUserId: string | null;
  status: string;
  amountMinor: number;
  capturedMinor: number;
  refundedMinor: number;
  currency: string;
  at: string;
}

export const isMarketplaceEvent = (event: LiveEvent): event is MarketplaceEvent =>
  event.type === 'booking_update' || event.type === 'service_status_change' || event.type === 'payment_notification';

/**
 * A chat message's body sealed with the platform's chat key (AES-256-GCM, base64 fields): chat events
 * travel through the outbox, and bodies are never stored in the clear (docs/chat.md). The Socket.io
 * gateway opens it before it emits `chat_message`.
 */
export interface SealedChatBody {
  keyId: string;
  nonce: string;
  ciphertext: string;
}

/** A chat message as the chat events carry it (`body` is '' and `sealed` set until the gateway opens it). */
export interface LiveChatMessage {
  id: string;
  roomId: string;
  seq: number;
  clientMessageId: string;
  sender: { userId: string; tenantId: string; displayName: string };
  body: string;
  sealed?: SealedChatBody | null | undefined;
  mentions: string[];
  attachments: Record<string, unknown>[];
  /** `participant_left`: the room's own line that the sender left it (no body); absent: `text`. */
  kind?: 'text' | 'participant_left' | undefined;
  createdAt: string;
  deletedAt: string | null;
}

/**
 * What happened in a chat room (issue 17), relayed to the room's Socket.io room `chat:<roomId>`.
 * `tenantId` is the room's tenant (the outbox row's). `chat_message` also names the participants and
 * the room, for the notifications the outbox sends to mentioned and offline participants.
 */
export type ChatEvent =
  | {
      type: 'chat_message';
      tenantId: string;
      roomId: string;
      message: LiveChatMessage;
      participantUserIds: string[];
      room: { kind: string; title: string | null; bookingId: string | null };
    }
  | { type: 'chat_read'; tenantId: string; roomId: string; userId: string; readUpToSeq: number; readAt: string }
  | { type: 'chat_message_deleted'; tenantId: string; roomId: string; messageId: string; seq: number };

export const isChatEvent = (event: LiveEvent): event is ChatEvent =>
  event.type === 'chat_message' || event.type === 'chat_read' || event.type === 'chat_message_deleted';

/**
 * A notification reached a user's inbox (issue 17, docs/notifications.md): outbox topic
 * `notification.created`, relayed as `notification` `{userId, notification}` to that user's sockets
 * only (`user:<userId>`). `tenantId` is the user's tenant.
 */
export interface NotificationLiveEvent {
  type: 'notification';
  tenantId: string;
  userId: string;
  notification: {
    id: string;
    category: string;
    title: string;
    body: string;
    url: string | null;
    createdAt: string;
    readAt: string | null;
  };
}

/**
 * Scoring stored new normals of these vehicles (`vehicle_normals`, ingest/src/normals/repository.ts):
 * outbox topic `vehicle.normal-saved`, appended in the save's transaction, one per tenant and save.
 * Never relayed to clients (the calibration it changes is read over REST); every API process drops
 * the calibration it keeps for these vehicles (api/src/vehicle-health/parts-cache.ts).
 */
export interface NormalSavedEvent {
  type: 'normal';
  tenantId: string;
  vehicleIds: string[];
}

export type LiveEvent =
  VehicleEvent | MarketplaceEvent | RevocationEvent | ChatEvent | NotificationLiveEvent | NormalSavedEvent;

export const isRevocation = (event: LiveEvent): event is RevocationEvent =>
  event.type === 'device-revoked' ||
  event.type === 'api-key-revoked' ||
  event.type === 'session-revoked' ||
  event.type === 'roles-changed';

export type LiveEventHandler = (event: LiveEvent) => void;

export interface LiveEventBus {
  publish(event: LiveEvent): void;
  /** Returns the unsubscribe function. */
  subscribe(handler: LiveEventHandler): () => void;
}

/** Hands an event to every listener; one faulty listener must not stop delivery to the others. */
export function deliverToAll(handlers: Iterable<LiveEventHandler>, event: LiveEvent): void {
  for (const handler of handlers) {
    try {
      handler(event);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

export function createInProcessBus(): LiveEventBus {
  const handlers = new Set<LiveEventHandler>();
  return {
    publish(event) {
      deliverToAll(handlers, event);
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
}
