-- Chat (issue 17): messages the room itself writes, not a person. `participant_left`: its sender
-- left the room (POST /api/chat/rooms/:id/leave); its body is empty (sealed like any other, so the
-- at-rest CHECK of 039 holds) and clients render the line from their message catalogue
-- (`chat.system.participant_left`). docs/chat.md, "Leaving a room".
ALTER TABLE chat_messages
  ADD COLUMN kind text NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'participant_left'));
