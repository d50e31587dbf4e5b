/**
 * The expected access table of issue 14 (read by matrix.test.ts): for every route of the OpenAPI
 * document, what each of seven principals gets on a resource of its own and on somebody else's.
 *
 * The rule for reading an answer:
 * - **deny**: 401 (no or bad credential), 403 (authenticated, not allowed: FORBIDDEN,
 *   PERMISSION_ESCALATION, ...) or 404 (a resource the caller may not know of answers exactly like a
 *   missing one: another owner's car, another shop's vehicle, session, role or user).
 * - **allow**: anything else below 500: 2xx, or a domain 4xx (400 invalid input, 409, 422) that proves
 *   the request got past authorization. The samples give vehicle routes valid input, since a caller
 *   who holds a permission only for some vehicles is decided after validation.
 * - A 5xx always fails the matrix.
 *
 * Principals: `anonymous`; `ownerA`, `ownerB` (car owners of the consumer tenant, role `owner`);
 * `staffX` (partner-admin of shop X); `techY` (technician of shop Y); `fleet` (fleet-manager of a
 * fleet tenant); `platform` (a signed-in user of the platform tenant with `platform-admin`).
 * "Own" is the principal's vehicle / tenant / user / session; "foreign" is another's (owner B's for
 * owner A, shop Y's for shop X, shop X's for shop Y and the fleet, owner A's for the platform admin).
 * Where a route has no resource (lists, catalogues, one's own account) both sides call the same.
 */
export const PRINCIPALS = ['anonymous', 'ownerA', 'ownerB', 'staffX', 'techY', 'fleet', 'platform'] as const;
export type PrincipalName = (typeof PRINCIPALS)[number];
export type Side = 'own' | 'foreign';
export type Outcome = 'allow' | 'deny';

export const outcomeOf = (status: number): Outcome => ([401, 403, 404].includes(status) ? 'deny' : 'allow');

type Cell = Record<Side, Outcome>;
export type Row = Record<PrincipalName, Cell>;

/** Allowed on both sides (a route without a resource, or one that reaches every tenant). */
const BOTH: Cell = { own: 'allow', foreign: 'allow' };
/** Allowed on one's own resource, denied on another's. */
const OWN: Cell = { own: 'allow', foreign: 'deny' };
const NONE: Cell = { own: 'deny', foreign: 'deny' };

type Signed = Exclude<PrincipalName, 'anonymous'>;
const SIGNED: readonly Signed[] = ['ownerA', 'ownerB', 'staffX', 'techY', 'fleet', 'platform'];

/** A public route: everyone gets past authorization (it may still refuse the empty input). */
const publicRoute = (): Row => ({ anonymous: BOTH, ...everyone(BOTH) });

/** A route for signed-in callers, with the given cells per principal (unnamed: `rest`). */
const signedIn = (cells: Partial<Record<Signed, Cell>>, rest: Cell = NONE): Row =>
  ({
    anonymous: NONE,
    ...Object.fromEntries(SIGNED.map((p) => [p, cells[p] ?? rest])),
  }) as Row;

function everyone(cell: Cell): Record<Signed, Cell> {
  return Object.fromEntries(SIGNED.map((p) => [p, cell])) as Record<Signed, Cell>;
}

/** Every signed-in principal reaches its own vehicle and not another's (a vehicle route of a permission all roles hold). */
const ownVehicle = (cells: Partial<Record<Signed, Cell>> = {}): Row => signedIn(cells, OWN);
/** Any signed-in caller, about their own account (no resource of anyone else's is named). */
const account = (): Row => signedIn({}, BOTH);
/** Platform administration: only the platform admin (every permission, an audited scope reaching every tenant). */
const platformOnly = (extra: Partial<Record<Signed, Cell>> = {}): Row => signedIn({ platform: BOTH, ...extra });
/**
 * A tenant's own administration (roles, grants): its partner admin, and the platform admin for the
 * platform tenant's; another tenant's role or user answers 404 like a missing one.
 */
const tenantAdmin = (): Row => signedIn({ staffX: OWN, platform: OWN });

/**
 * The marketplace (issue 15). "Own" is the principal's shop and the bookings it is party to: owner A
 * booked at shop X, owner B at shop Y, the fleet at shop X; shop X's admin and shop Y's technician
 * work on their shop's; the platform admin's own is the fleet's booking. The listing (shops, their
 * services, parts, photos, reviews, availability, nearby search) is for every signed-in caller.
 */
const listing = (): Row => signedIn({}, BOTH);
/** A shop's profile (partners:write): its partner admin; platform staff for any shop. */
const shopAdmin = (): Row => signedIn({ staffX: OWN, platform: BOTH });
/**
 * Platform staff reach every organisation's bookings, repair orders, estimates, parts orders and
 * shop setup through an audited system scope (api/src/bookings/access.ts `marketplaceScope`): the
 * platform admin holds every permission, so it reaches both sides.
 */
/** A shop's capacity and booking rules: its partner admin, and platform staff for any shop. */
const shopSetup = (): Row => signedIn({ staffX: OWN, platform: BOTH });
/** Both parties of a booking read it: the customer (owners, the fleet) and the shop's staff. */
const parties = (): Row => signedIn({ platform: BOTH }, OWN);
/** The shop's work on a repair order (repair-orders:write, estimates:write): its technicians and admin. */
const shopWork = (): Row => signedIn({ staffX: OWN, techY: OWN, platform: BOTH });
/** Parts orders: the shops' staff (technicians and parts clerks, admins), not customers. */
const partsWork = (): Row => signedIn({ staffX: OWN, techY: OWN, platform: BOTH });

const MARKETPLACE: Record<string, Row> = {
  'get /partners': listing(),
  'get /partners/:id': listing(),
  'get /partners/:id/services': listing(),
  'get /partners/:id/parts': listing(),
  'get /partners/:id/photos': listing(),
  'get /partners/:id/photos/:photoId': listing(),
  'get /partners/:id/reviews': listing(),
  'get /partners/:id/booking-rules': listing(),
  'get /partners/:id/availability': listing(),
  'get /location/nearby-services': listing(),
  // A partner admin creates shops of its own organisation (no resource is named: both sides the same).
  'post /partners': signedIn({ staffX: BOTH, platform: BOTH }),
  'patch /partners/:id': shopAdmin(),
  'put /partners/:id/opening-hours': shopAdmin(),
  'put /partners/:id/special-days': shopAdmin(),
  'post /partners/:id/services': shopAdmin(),
  'patch /partners/:id/services/:serviceId': shopAdmin(),
  'post /partners/:id/parts': shopAdmin(),
  'patch /partners/:id/parts/:partId': shopAdmin(),
  'post /partners/:id/parts/:partId/stock': shopAdmin(),
  'post /partners/:id/photos': shopAdmin(),
  'delete /partners/:id/photos/:photoId': shopAdmin(),
  'get /partners/:id/resources': shopSetup(),
  'post /partners/:id/resources': shopSetup(),
  'put /partners/:id/resources/:resourceId': shopSetup(),
  'delete /partners/:id/resources/:resourceId': shopSetup(),
  'put /partners/:id/booking-rules': shopSetup(),
  // Booking names a vehicle: the customer's own (owners, the fleet, a partner admin for its
  // organisation's cars); a technician holds no bookings:write.
  'post /bookings/holds': signedIn({ techY: NONE, platform: BOTH }, OWN),
  'post /bookings': signedIn({ techY: NONE, platform: BOTH }, OWN),
  'post /bookings/from-alert': signedIn({ techY: NONE }, OWN),
  'get /bookings': signedIn({}, BOTH),
  'get /bookings/:id': parties(),
  // The shop confirms; its customer cannot.
  'post /bookings/:id/confirm': signedIn({ staffX: OWN, platform: BOTH }),
  'post /bookings/:id/reschedule': signedIn({ techY: NONE, platform: BOTH }, OWN),
  'post /bookings/:id/cancel': signedIn({ techY: NONE, platform: BOTH }, OWN),
  'get /repair-orders': signedIn({}, BOTH),
  'get /repair-orders/:id': parties(),
  'post /repair-orders/:id/transitions': shopWork(),
  // The customer answers a shop that waits for them: not the shop (its admin holds bookings:write but
  // is not this order's customer, a technician holds none), not platform staff (the shop's side).
  'post /repair-orders/:id/resume': signedIn({ staffX: NONE, techY: NONE, platform: NONE }, OWN),
  'post /repair-orders/:id/check-in': shopWork(),
  'get /repair-orders/:id/check-in': parties(),
  'post /repair-orders/:id/check-in/photos': shopWork(),
  'get /repair-orders/:id/check-in/photos/:photoId': parties(),
  'get /repair-orders/:id/warranty': parties(),
  'get /estimates': parties(),
  'post /estimates': shopWork(),
  'get /estimates/:id': parties(),
  'put /estimates/:id': shopWork(),
  'post /estimates/:id/send': shopWork(),
  'post /estimates/:id/revise': shopWork(),
  // The customer decides: owners on their own, the fleet on its own; never the shop that wrote it.
  'post /estimates/:id/decision': signedIn({ ownerA: OWN, ownerB: OWN, fleet: OWN, platform: BOTH }),
  'post /parts-orders': partsWork(),
  'get /parts-orders': signedIn({ staffX: BOTH, techY: BOTH, platform: BOTH }),
  'get /parts-orders/:id': partsWork(),
  'post /parts-orders/:id/accept': partsWork(),
  'post /parts-orders/:id/ship': partsWork(),
  'post /parts-orders/:id/deliver': partsWork(),
  'post /parts-orders/:id/cancel': partsWork(),
  // Only the customer of a delivered repair reviews it; the shop answers.
  'post /reviews': signedIn({ ownerA: OWN, ownerB: OWN }),
  // Platform staff answer for a shop (every permission; the review is listing data).
  'post /reviews/:id/answer': signedIn({ staffX: OWN, platform: BOTH }),
  'post /obd2/error-codes': ownVehicle(),
};

/**
 * Money (issue 16). "Own" follows the marketplace bundles: the payment and installment plan of the
 * principal's booking (owners and the fleet their own; shop X's admin owner A's at shop X, shop Y's
 * technician owner B's at shop Y; the platform admin the fleet's), the payout of that shop, and the
 * principal's own wallet, hold, fraud alert and block (money-fixture.ts). docs/rbac.md: owners hold
 * payments:read/write and wallet:* on their own records; fleet managers payments:read/write and
 * wallet:* for their organisation; partner admins (who inherit the fleet manager's) payments:write,
 * payments:refund and commissions:read on their organisation's shops; technicians no money
 * permission; platform staff everything, every tenant, audited.
 */
/** Either party of a payment reads it (payments:read): the customer and the payee shop's admin. */
const moneyParties = (): Row => signedIn({ techY: NONE, platform: BOTH }, OWN);
/**
 * The caller's own wallet (no resource of anyone else's is named): whoever holds wallet:*. Platform
 * staff hold no wallet (403: the platform's money is in its ledger accounts, reached by administration).
 */
const ownWallet = (): Row => signedIn({ techY: NONE, platform: NONE }, BOTH);
/** Only the customer acts (an installment plan finances the customer's own record): not the shop, not staff. */
const customerOnly = (): Row => signedIn({ ownerA: OWN, ownerB: OWN, fleet: OWN });
/** A shop's commissions and payouts (commissions:read): its partner admin, platform staff any shop's. */
const shopBooks = (): Row => signedIn({ staffX: OWN, platform: BOTH });
/**
 * A list of a shop's books (commissions:read): row-level security keeps another organisation's rows
 * out, so naming its shop answers an empty list (checked in matrix.test.ts, "lists only what each
 * principal may see"), not the 404 that one named record of it gets.
 */
const shopBooksList = (): Row => signedIn({ staffX: BOTH, platform: BOTH });
/** Fraud review (fraud:read / fraud:write): platform staff only (support reads, the admin acts). */
const fraudDesk = (): Row => platformOnly();

const MONEY: Record<string, Row> = {
  // What the browser needs to confirm a card: any signed-in caller (no secrets).
  'get /payments/config': account(),
  // The payer starts a payment (a booking's hold, a top-up): the customer, or platform staff for anyone's
  // (audited). Not the payee: the shop captures, it does not charge its customer's account (and a
  // technician holds no money permission).
  'post /payments/process': signedIn({ staffX: NONE, techY: NONE, platform: BOTH }, OWN),
  // Refunds (payments:refund): the payee shop's admin and platform staff; the payer does not refund itself.
  'post /payments/refund': signedIn({ staffX: OWN, platform: BOTH }),
  // Bringing a payment level with its provider changes nothing either party could not see happen.
  'post /payments/verify': moneyParties(),
  // A list shows only what the caller may read (checked by the service); a technician holds no payments:read.
  'get /payments/history': signedIn({ techY: NONE }, BOTH),
  // Spans every shop: platform staff only (a partner admin's payments:refund is its organisation's).
  'get /payments/reconciliations': platformOnly(),
  'get /payments/disputes': platformOnly(),
  'get /payments/:id': moneyParties(),
  // The payee captures a hold (or the platform's jobs), never the payer.
  'post /payments/:id/capture': signedIn({ staffX: OWN, platform: BOTH }),
  // Either party gives up or releases a payment not captured (the customer not a hold for a booking:
  // 409), and either confirms one that requires action (the payer's step a provider's page cannot take).
  'post /payments/:id/cancel': moneyParties(),
  'post /payments/:id/confirm': moneyParties(),
  // The provider's call: public, the signature is its credential (a request without one is 400).
  'post /payments/webhooks/:provider': publicRoute(),
  'get /payments/:id/receipt.pdf': moneyParties(),
  'get /repair-orders/:id/invoice.pdf': parties(),
  // Installment plans finance the customer's own repair order or booking: the shop's side and platform
  // staff get 404 (the record is not theirs to finance); reads as for a payment.
  'post /payments/installments/quote': customerOnly(),
  'post /payments/installments': customerOnly(),
  'get /payments/installments': signedIn({ techY: NONE }, BOTH),
  'get /payments/installments/:id': moneyParties(),
  'post /payments/installments/:id/payoff': customerOnly(),
  'post /payments/installments/:id/write-off': platformOnly(),
  'post /payments/installments/:id/reinstate': platformOnly(),
  'post /wallet/create': ownWallet(),
  'get /wallet/balance': ownWallet(),
  'get /wallet/history': ownWallet(),
  // A hold of one's own wallet for a booking the caller can see as a party (another's answers 404,
  // exactly as naming its shop by partnerId would be allowed: the money is the caller's own).
  'post /wallet/hold': signedIn({ techY: NONE, platform: NONE }, OWN),
  // A hold of one's own wallet; another's hold answers 404 like a missing one.
  'post /wallet/release': signedIn({ techY: NONE, platform: NONE }, OWN),
  // From one's own wallet to a person: the recipient is no resource of the caller's (both sides alike).
  'post /wallet/transfer': ownWallet(),
  'post /commission/calculate': shopBooks(),
  'get /commission/history': shopBooksList(),
  'get /commission/analytics': shopBooksList(),
  'get /commission/tiers': shopBooks(),
  // Commission tiers and payout runs (commissions:write): platform staff only.
  'put /commission/tiers': platformOnly(),
  'post /commission/payout': platformOnly(),
  'get /commission/payouts': shopBooksList(),
  'get /commission/payouts/:id/statement.pdf': shopBooks(),
  'get /commission/payout-accounts': shopBooksList(),
  // Connecting a shop's payout account (payments:write on the shop): its partner admin, platform staff.
  'post /commission/payout-accounts': shopBooks(),
  // Risk decisions, alerts, blocks and reports: fraud:read/write, held by platform staff only (support reads).
  'post /security/fraud/analyze': fraudDesk(),
  'get /security/fraud/alerts': fraudDesk(),
  'post /security/fraud/alerts/:id/review': fraudDesk(),
  'post /security/fraud/block': fraudDesk(),
  'get /security/fraud/blocks': fraudDesk(),
  'delete /security/fraud/blocks/:id': fraudDesk(),
  'get /security/fraud/reports': fraudDesk(),
};

/**
 * Chat and notifications (issue 17; comms-fixture.ts). "Own" is the chat room of the principal's
 * booking (shop X's admin and owner A share owner A's, shop Y's technician and owner B owner B's, the
 * platform admin's is the fleet's), a message the principal sent there and its attachment, and the
 * principal's own notification, push device and scheduled message. A room's participants read and
 * write it; platform staff hold chat:moderate and read (and delete in) any room, audited, but do not
 * speak in a room they are no party to. A notification, a setting and a device are a person's own.
 */
/** A room's participants only: the parties of its booking. */
const chatParty = (): Row => signedIn({ platform: NONE }, OWN);
/** The participants, and platform staff moderating any room (audited). */
const chatModerated = (): Row => signedIn({ platform: BOTH }, OWN);
/** notifications:send: a partner admin to its organisation's users, platform staff to anyone. */
const notificationAdmin = (): Row => signedIn({ staffX: OWN, platform: BOTH });
const COMMS: Record<string, Row> = {
  // Opening the booking's room: its parties; platform staff hold chat:write but are no party to a booking.
  'post /chat/rooms': chatParty(),
  // My rooms: a list of what the caller takes part in.
  'get /chat/rooms': account(),
  'get /chat/rooms/:id': chatModerated(),
  'get /chat/rooms/:id/messages': chatModerated(),
  'post /chat/rooms/:id/messages': chatParty(),
  'put /chat/messages/:id/read': chatParty(),
  'post /chat/messages/:id/report': chatParty(),
  // Its sender, or a moderator (the foreign side deletes another message than the own side).
  'delete /chat/messages/:id': chatModerated(),
  'get /chat/reports': platformOnly(),
  'post /chat/rooms/:id/attachments': chatParty(),
  // A participant leaves (the booking's customer gets 409, past the door); platform staff are no party.
  'post /chat/rooms/:id/leave': chatParty(),
  'get /chat/attachments/:id': chatModerated(),
  'post /notifications/send': notificationAdmin(),
  'post /notifications/schedule': notificationAdmin(),
  'delete /notifications/schedule/:id': notificationAdmin(),
  // One's own notifications, settings and devices; another's notification or device answers 404.
  'get /notifications/history': account(),
  'get /notifications/inbox': account(),
  'put /notifications/:id/read': signedIn({}, OWN),
  'post /notifications/read-all': account(),
  'post /notifications/:id/opened': signedIn({}, OWN),
  'get /notifications/settings': account(),
  'put /notifications/settings': account(),
  'get /notifications/devices': account(),
  'post /notifications/devices': account(),
  'delete /notifications/devices/:id': signedIn({}, OWN),
  'get /notifications/web-push/key': account(),
};

export const EXPECTED: Record<string, Row> = {
  // Public: documents, catalogues, and the sign-in doors (which refuse the empty input with 400).
  'get /health': publicRoute(),
  'get /signals': publicRoute(),
  'get /openapi.json': publicRoute(),
  'get /.well-known/jwks.json': publicRoute(),
  'post /auth/register': publicRoute(),
  'post /auth/login': publicRoute(),
  'post /auth/logout': publicRoute(),
  'post /auth/verify-email': publicRoute(),
  'post /auth/password/forgot': publicRoute(),
  'post /auth/password/reset': publicRoute(),
  'post /auth/invitations/accept': publicRoute(),
  'post /auth/mfa/challenge': publicRoute(),
  'post /auth/mfa/verify': publicRoute(),
  'post /mobile/biometric/challenge': publicRoute(),
  'post /mobile/biometric/verify': publicRoute(),
  // Public, but its credential is the refresh token (cookie or body), not a bearer: without one, 401 for all.
  'post /sessions/refresh': { anonymous: NONE, ...everyone(NONE) },

  // One's own account, sessions and factors.
  'get /me': account(),
  'get /permissions': account(),
  'get /sessions': account(),
  'delete /sessions/:id': signedIn({}, OWN),
  'post /sessions/logout-all': account(),
  'get /auth/mfa': account(),
  'post /auth/mfa/setup': account(),
  'post /auth/mfa/disable': account(),
  'get /auth/mfa/backup-codes': account(),
  'post /mobile/biometric/register': account(),
  'get /mobile/biometric/devices': account(),
  'delete /mobile/biometric/devices/:id': account(),

  // Vehicles: a list shows only what the caller may see (checked apart); one's own vehicle, never another's.
  'get /vehicles': signedIn({}, BOTH),
  'get /vehicles/:id': ownVehicle(),
  'get /vehicles/:id/latest': ownVehicle(),
  'get /vehicles/:id/signals': ownVehicle(),
  'get /vehicles/:id/telemetry': ownVehicle(),
  'get /vehicles/:id/trips': ownVehicle(),
  'get /vehicles/:id/alerts': ownVehicle(),
  'get /vehicles/:id/data-quality': ownVehicle(),
  'get /vehicles/:id/health': ownVehicle(),
  // Importing an app's log writes the vehicle's history: whoever may command the car (its own tenant's).
  'post /vehicles/:id/imports': ownVehicle(),
  'get /vehicles/:id/imports': ownVehicle(),
  'get /vehicles/:id/imports/:importId': ownVehicle(),
  'get /obd2/diagnostics/:vehicleId': ownVehicle(),
  'get /telematics/analytics': ownVehicle(),
  'post /ai/maintenance/predict': ownVehicle(),
  'post /ai/driving/analyze': ownVehicle(),
  // A technician holds no location:read.
  'get /telematics/history': ownVehicle({ techY: NONE }),
  'post /vehicles/:id/commands': ownVehicle(),
  'get /vehicles/:id/commands': ownVehicle(),
  // A command by id names no vehicle: the service decides on the command's vehicle, so owners read
  // the commands of their own cars and not another owner's.
  'get /commands/:id': ownVehicle(),
  // Shares: owners, partner admins, fleet managers and platform staff; a technician holds no vehicle-shares:*.
  'post /vehicles/:id/shares': ownVehicle({ techY: NONE }),
  'get /vehicles/:id/shares': ownVehicle({ techY: NONE }),
  'delete /vehicles/:id/shares/:shareId': ownVehicle({ techY: NONE }),

  // Roles and grants: a tenant's administration.
  'get /roles': signedIn({ staffX: BOTH, platform: BOTH }),
  'post /roles': signedIn({ staffX: BOTH, platform: BOTH }),
  'put /roles/:id': tenantAdmin(),
  'delete /roles/:id': tenantAdmin(),
  'get /roles/:id/permissions': tenantAdmin(),
  'put /roles/:id/permissions': tenantAdmin(),
  'get /users/:id/roles': tenantAdmin(),
  'post /users/:id/roles': tenantAdmin(),
  'delete /users/:id/roles': tenantAdmin(),

  // Platform administration (permissions; the platform admin's work runs audited across tenants).
  'post /tenants': platformOnly(),
  'post /devices': platformOnly(),
  'post /devices/:tenantId/:deviceId/credentials': platformOnly(),
  'delete /devices/:tenantId/:deviceId/credentials': platformOnly(),
  'post /telematics/gps': platformOnly(),
  'post /dead-letters/:id/replay': platformOnly(),
  'post /ai/models/deploy': platformOnly(),
  'post /ai/models/:id/retrain': platformOnly(),
  'get /ai/jobs/:id': platformOnly(),
  // Administration a partner admin also does, for its own organisation only (naming another is 403):
  // its API keys (scopes it holds itself, MFA step-up) and invitations of its staff.
  'post /api-keys': platformOnly({ staffX: OWN }),
  'delete /api-keys/:tenantId/:keyId': platformOnly({ staffX: OWN }),
  'post /users/invitations': platformOnly({ staffX: OWN }),
  // Reads a partner admin also holds: its own organisation's keys and dead letters (naming another is
  // refused), the model registry, and its organisation's audit trail (row-level security).
  'get /api-keys': platformOnly({ staffX: OWN }),
  'get /dead-letters': platformOnly({ staffX: OWN }),
  'get /ai/models': platformOnly({ staffX: BOTH }),
  'get /ai/models/:id/performance': platformOnly({ staffX: BOTH }),
  'get /security/reports': platformOnly({ staffX: BOTH }),

  ...MARKETPLACE,
  ...MONEY,
  ...COMMS,
};
