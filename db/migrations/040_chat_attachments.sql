-- Chat attachments (issue 17): the facts of an uploaded file or image; the bytes live in the object
-- store (api/src/storage: local disk or S3) under storage_key. docs/chat.md, "Attachments and storage".
--
-- An upload belongs to a room and its uploader and is unclaimed (message_id NULL) until the
-- uploader's next message in that room claims it; unclaimed uploads older than a day are removed
-- (rows and objects) by the chat-attachments-cleanup job, and so are the attachments of messages
-- deleted by moderation. tenant_id is the room's tenant, like every chat table (039).
--
-- content_type, size, width and height are what we store and serve (images are re-encoded), found
-- from the bytes, never from the client's header. sha256 is of the stored bytes (the ETag).

CREATE TABLE chat_attachments (
  id uuid PRIMARY KEY,
  tenant_id text NOT NULL,
  room_id uuid NOT NULL,
  uploader_user_id uuid NOT NULL,
  storage_key text NOT NULL UNIQUE CHECK (length(storage_key) BETWEEN 1 AND 512),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  content_type text NOT NULL
    CHECK (content_type IN ('image/jpeg', 'image/webp', 'image/png', 'image/gif', 'application/pdf', 'text/plain')),
  size bigint NOT NULL CHECK (size BETWEEN 0 AND 20971520),
  width integer CHECK (width > 0),
  height integer CHECK (height > 0),
  sha256 bytea NOT NULL CHECK (octet_length(sha256) = 32),
  message_id uuid,
  -- Order among the attachments of its message (the order the message listed them).
  position smallint CHECK (position BETWEEN 0 AND 99),
  created_at timestamptz NOT NULL DEFAULT now(),
  claimed_at timestamptz,
  CHECK ((width IS NULL) = (height IS NULL)),
  CHECK ((message_id IS NULL) = (position IS NULL) AND (message_id IS NULL) = (claimed_at IS NULL)),
  FOREIGN KEY (tenant_id, room_id) REFERENCES chat_rooms (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (room_id, uploader_user_id) REFERENCES chat_participants (room_id, user_id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, message_id) REFERENCES chat_messages (tenant_id, id) ON DELETE CASCADE,
  UNIQUE (tenant_id, id)
);
CREATE INDEX chat_attachments_message_idx ON chat_attachments (message_id, position) WHERE message_id IS NOT NULL;
-- The cleanup's scan, and an uploader's pending uploads in a room.
CREATE INDEX chat_attachments_unclaimed_idx ON chat_attachments (created_at) WHERE message_id IS NULL;

ALTER TABLE chat_attachments ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_attachments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chat_attachments USING (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_access ON chat_attachments TO clutch_system USING (true) WITH CHECK (true);
-- The other side of a room (a booking's customer) reaches its attachments as a participant; a new
-- row or a claim only as its uploader.
CREATE POLICY participant_access ON chat_attachments TO clutch_app
  USING (room_id = ANY ((SELECT chat_participant_rooms())::uuid[]))
  WITH CHECK (room_id = ANY ((SELECT chat_participant_rooms())::uuid[])
              AND uploader_user_id = nullif(current_setting('app.user_id', true), '')::uuid);

GRANT SELECT, INSERT, DELETE ON chat_attachments TO clutch_app;
-- A claim sets these and nothing else.
GRANT UPDATE (message_id, position, claimed_at) ON chat_attachments TO clutch_app;
