-- Meetings and their participants. Plain SQL that runs unchanged on PostgreSQL 15 and on
-- PGlite (Postgres 18). Ids follow lib/protocol/limits.ts ID_PATTERN; the display name cap is
-- lib/store/limits.ts MAX_DISPLAY_NAME_CHARS. Runs inside one transaction (lib/store/migrate.ts).

CREATE TABLE meetings (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  host_user_id text NOT NULL CHECK (host_user_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  state text NOT NULL DEFAULT 'idle' CHECK (state IN ('idle', 'active', 'ended')),
  waiting_room_enabled boolean NOT NULL DEFAULT false,
  locked boolean NOT NULL DEFAULT false,
  e2ee_required boolean NOT NULL DEFAULT false,
  password_hash text NULL CHECK (char_length(password_hash) BETWEEN 1 AND 1024),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz NULL,
  ended_at timestamptz NULL,
  deleted_at timestamptz NULL,
  -- Creation order. Timestamps cannot give it: PGlite's clock ticks in milliseconds, and
  -- Postgres's now() is the transaction's start, so rows made close together tie or cross.
  seq bigint GENERATED ALWAYS AS IDENTITY
);

-- Listing a host's meetings, newest first; deleted ones never show.
CREATE INDEX meetings_host_seq_idx
  ON meetings (host_user_id, seq DESC)
  WHERE deleted_at IS NULL;

CREATE TABLE participants (
  meeting_id text NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
  user_id text NOT NULL CHECK (user_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  display_name text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 128),
  role text NOT NULL CHECK (role IN ('host', 'cohost', 'guest')),
  status text NOT NULL CHECK (status IN ('waiting', 'admitted', 'rejected', 'removed', 'left')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- Arrival order (see meetings.seq): the waiting room is first come, first served.
  seq bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (meeting_id, user_id)
);

-- Listing a meeting's participants by status, oldest first (the waiting room, who is in).
CREATE INDEX participants_meeting_status_idx
  ON participants (meeting_id, status, seq);
