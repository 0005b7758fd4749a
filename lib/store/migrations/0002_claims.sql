-- Identities bound to guest sessions (docs/SECURITY.md, "Open mode"). A participant's claim is
-- the guest session that first took the user id in this meeting; another session cannot use that
-- id here. A removal bans the removed person's session from the meeting under any id.

ALTER TABLE participants
  ADD COLUMN claim text NULL CHECK (char_length(claim) BETWEEN 1 AND 128);

CREATE TABLE meeting_bans (
  meeting_id text NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
  claim text NOT NULL CHECK (char_length(claim) BETWEEN 1 AND 128),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (meeting_id, claim)
);
