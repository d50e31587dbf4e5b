-- Chat (issue 17): rooms per booking, support rooms and small groups; participants with roles;
-- messages with a gap-free sequence per room, encrypted bodies, per-message read receipts and
-- moderation reports. docs/chat.md explains the rules.
--
-- Whose rows: every chat table's tenant_id is the ROOM's tenant, the side that serves the
-- conversation: a booking room belongs to the shop's tenant (like the booking), a support room to
-- the platform (its support staff), a group room to the tenant of the user who made it. The other
-- side of a booking or support room is its customer (customer_tenant_id / customer_user_id, as on
-- bookings): the `customer_access` policy on chat_rooms lets that side reach the room (a car owner
-- of the consumer tenant only their own, rbac_confined_owner() from 023), and the `room_access`
-- policy of every child table opens a child row to whoever can see its room. Row-level security is
-- the backstop; the participant list is the service's second gate (api/src/chat/access.ts).
--
-- Sequence numbers: chat_rooms.last_seq is taken under the room's row lock (UPDATE ... RETURNING)
-- in the message's own transaction, so a rolled-back post gives its number back and the numbers of
-- a room have no gaps and no duplicates (UNIQUE (room_id, seq) states it).

CREATE TABLE chat_rooms (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL REFERENCES tenants (id),
  kind text NOT NULL CHECK (kind IN ('booking', 'support', 'group')),
  -- A group's title, a support request's subject; NULL for booking rooms (the booking names them).
  title text CHECK (length(title) BETWEEN 1 AND 200),
  booking_id uuid,
  partner_id uuid,
  customer_tenant_id text REFERENCES tenants (id),
  customer_user_id uuid,
  last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  last_message_at timestamptz,
  created_by text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, booking_id) REFERENCES bookings (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (customer_tenant_id, customer_user_id) REFERENCES users (tenant_id, id),
  CHECK (kind <> 'booking' OR (booking_id IS NOT NULL AND partner_id IS NOT NULL AND customer_tenant_id IS NOT NULL)),
  CHECK (kind <> 'support'
         OR (tenant_id = 'platform' AND booking_id IS NULL AND customer_tenant_id IS NOT NULL AND customer_user_id IS NOT NULL)),
  CHECK (kind <> 'group' OR (booking_id IS NULL AND partner_id IS NULL AND customer_tenant_id IS NULL)),
  UNIQUE (tenant_id, id)
);
-- One room per booking.
CREATE UNIQUE INDEX chat_rooms_booking_key ON chat_rooms (booking_id) WHERE booking_id IS NOT NULL;
CREATE INDEX chat_rooms_customer_idx ON chat_rooms (customer_tenant_id, customer_user_id) WHERE customer_tenant_id IS NOT NULL;

CREATE TABLE chat_participants (
  tenant_id text NOT NULL,
  room_id uuid NOT NULL,
  user_id uuid NOT NULL,
  -- The participant's own tenant (the customer's is not the room's).
  user_tenant_id text NOT NULL,
  role text NOT NULL CHECK (role IN ('customer', 'shop', 'support', 'member')),
  -- As it was when they joined: the other side cannot read the users of another tenant.
  display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
  read_up_to_seq bigint NOT NULL DEFAULT 0 CHECK (read_up_to_seq >= 0),
  joined_at timestamptz NOT NULL DEFAULT now(),
  left_at timestamptz,
  PRIMARY KEY (room_id, user_id),
  FOREIGN KEY (tenant_id, room_id) REFERENCES chat_rooms (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (user_tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX chat_participants_user_idx ON chat_participants (user_id, user_tenant_id) WHERE left_at IS NULL;

CREATE TABLE chat_messages (
  id uuid PRIMARY KEY,
  tenant_id text NOT NULL,
  room_id uuid NOT NULL,
  seq bigint NOT NULL CHECK (seq > 0),
  sender_user_id uuid NOT NULL,
  client_message_id uuid NOT NULL,
  -- AES-256-GCM of the body (ciphertext || 16-byte tag), its 12-byte nonce and the key's id in the
  -- key ring; all three NULL once the message was deleted (the tombstone keeps seq and sender).
  ciphertext bytea,
  nonce bytea CHECK (octet_length(nonce) = 12),
  key_id text CHECK (length(key_id) BETWEEN 1 AND 64),
  mentions uuid[] NOT NULL DEFAULT '{}' CHECK (cardinality(mentions) <= 50),
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  deleted_by text CHECK (length(deleted_by) BETWEEN 1 AND 200),
  FOREIGN KEY (tenant_id, room_id) REFERENCES chat_rooms (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (room_id, sender_user_id) REFERENCES chat_participants (room_id, user_id),
  CHECK ((deleted_at IS NULL) = (ciphertext IS NOT NULL AND nonce IS NOT NULL AND key_id IS NOT NULL)),
  UNIQUE (room_id, seq),
  -- A client's retry of one message is the same message.
  UNIQUE (room_id, sender_user_id, client_message_id),
  UNIQUE (tenant_id, id)
);

CREATE TABLE chat_receipts (
  tenant_id text NOT NULL,
  room_id uuid NOT NULL,
  message_id uuid NOT NULL,
  user_id uuid NOT NULL,
  read_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, user_id),
  FOREIGN KEY (tenant_id, message_id) REFERENCES chat_messages (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (room_id, user_id) REFERENCES chat_participants (room_id, user_id) ON DELETE CASCADE
);

CREATE TABLE chat_reports (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id text NOT NULL,
  room_id uuid NOT NULL,
  message_id uuid NOT NULL,
  reporter_user_id uuid NOT NULL,
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
  created_at timestamptz NOT NULL DEFAULT now(),
  resolved_at timestamptz,
  FOREIGN KEY (tenant_id, message_id) REFERENCES chat_messages (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (room_id, reporter_user_id) REFERENCES chat_participants (room_id, user_id),
  -- One report per reporter and message (a second is the same report).
  UNIQUE (message_id, reporter_user_id)
);
CREATE INDEX chat_reports_open_idx ON chat_reports (created_at) WHERE status = 'open';

-- Row-level security: the room's tenant, the platform, and the room's customer side.
ALTER TABLE chat_rooms ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_rooms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chat_rooms USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON chat_rooms TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY customer_access ON chat_rooms TO clutch_app
  USING (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())))
  WITH CHECK (customer_tenant_id = current_setting('app.tenant_id', true)
         AND ((SELECT rbac_confined_owner()) IS NULL OR customer_user_id = (SELECT rbac_confined_owner())));

-- Child rows: whoever sees the room (its tenant, or its customer side through customer_access).
ALTER TABLE chat_participants ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_participants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chat_participants USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON chat_participants TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY room_access ON chat_participants TO clutch_app
  USING (EXISTS (SELECT 1 FROM chat_rooms r WHERE r.id = room_id AND r.tenant_id = chat_participants.tenant_id))
  WITH CHECK (EXISTS (SELECT 1 FROM chat_rooms r WHERE r.id = room_id AND r.tenant_id = chat_participants.tenant_id));

ALTER TABLE chat_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chat_messages USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON chat_messages TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY room_access ON chat_messages TO clutch_app
  USING (EXISTS (SELECT 1 FROM chat_rooms r WHERE r.id = room_id AND r.tenant_id = chat_messages.tenant_id))
  WITH CHECK (EXISTS (SELECT 1 FROM chat_rooms r WHERE r.id = room_id AND r.tenant_id = chat_messages.tenant_id));

ALTER TABLE chat_receipts ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_receipts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chat_receipts USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON chat_receipts TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY room_access ON chat_receipts TO clutch_app
  USING (EXISTS (SELECT 1 FROM chat_rooms r WHERE r.id = room_id AND r.tenant_id = chat_receipts.tenant_id))
  WITH CHECK (EXISTS (SELECT 1 FROM chat_rooms r WHERE r.id = room_id AND r.tenant_id = chat_receipts.tenant_id));

ALTER TABLE chat_reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_reports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chat_reports USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON chat_reports TO clutch_system USING (true) WITH CHECK (true);
CREATE POLICY room_access ON chat_reports TO clutch_app
  USING (EXISTS (SELECT 1 FROM chat_rooms r WHERE r.id = room_id AND r.tenant_id = chat_reports.tenant_id))
  WITH CHECK (EXISTS (SELECT 1 FROM chat_rooms r WHERE r.id = room_id AND r.tenant_id = chat_reports.tenant_id));

GRANT SELECT, INSERT, UPDATE ON chat_rooms, chat_participants, chat_messages TO clutch_app;
GRANT SELECT, INSERT ON chat_receipts TO clutch_app;
GRANT SELECT, INSERT, UPDATE ON chat_reports TO clutch_app;

-- The rooms the transaction's user takes part in now (app.user_id of app.tenant_id), for policies of
-- tables keyed by room (chat attachments, migration 040). SECURITY DEFINER: read as the platform, so
-- a policy calling it does not recurse into chat_participants' own policies.
CREATE FUNCTION chat_participant_rooms() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce(array_agg(p.room_id), '{}')
    FROM chat_participants p
   WHERE p.user_id = nullif(current_setting('app.user_id', true), '')::uuid
     AND p.user_tenant_id = current_setting('app.tenant_id', true)
     AND p.left_at IS NULL
$$;

-- The customer of a booking as the shop's side may name them in its room (the shop cannot read the
-- users of the customer's tenant): only for a booking the caller's tenant can see, by the same
-- rules as the bookings policies of 026.
CREATE FUNCTION chat_booking_customer(p_booking_id uuid)
RETURNS TABLE (user_id uuid, tenant_id text, display_name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT u.id, u.tenant_id, u.display_name
    FROM bookings b
    JOIN users u ON u.tenant_id = b.customer_tenant_id AND u.id = b.customer_user_id
   WHERE b.id = p_booking_id
     AND (b.tenant_id = current_setting('app.tenant_id', true)
          OR (b.customer_tenant_id = current_setting('app.tenant_id', true)
              AND (rbac_confined_owner() IS NULL OR b.customer_user_id = rbac_confined_owner())))
$$;

REVOKE ALL ON FUNCTION chat_participant_rooms(), chat_booking_customer(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chat_participant_rooms(), chat_booking_customer(uuid) TO clutch_app;

-- A room's customer side announces its own messages, reads and deletions on the room's tenant (so
-- the outbox row names the room's owner, like bookings' customer_events): only for a room it can see.
CREATE FUNCTION outbox_chat_event(p_tenant_id text, p_payload jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM chat_rooms r WHERE r.id::text = p_payload ->> 'roomId' AND r.tenant_id = p_tenant_id)
$$;
GRANT EXECUTE ON FUNCTION outbox_chat_event(text, jsonb) TO clutch_app;
CREATE POLICY chat_events ON outbox_events FOR INSERT TO clutch_app
  WITH CHECK (topic IN ('chat.message', 'chat.read', 'chat.message-deleted') AND outbox_chat_event(tenant_id, payload));
CREATE POLICY chat_events_read ON outbox_events FOR SELECT TO clutch_app
  USING (topic IN ('chat.message', 'chat.read', 'chat.message-deleted') AND outbox_chat_event(tenant_id, payload));
