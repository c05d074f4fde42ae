-- +goose Up
-- Rooms and their members. A direct room's pair of accounts is unique.
CREATE TABLE rooms (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    direct_key TEXT UNIQUE,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL DEFAULT 0,
    active_at  INTEGER NOT NULL
);

CREATE TABLE room_members (
    room_id       TEXT NOT NULL REFERENCES rooms (id),
    account_id    TEXT NOT NULL REFERENCES accounts (id),
    role          TEXT NOT NULL,
    joined_at     INTEGER NOT NULL,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, account_id)
);
CREATE INDEX room_members_account ON room_members (account_id);

-- Messages are numbered per room and stored in that order: a batch of
-- sends to a hundred rooms touches a hundred places of each index, not
-- one per message. (room, sender, client_msg_id) makes a retried send
-- land once.
CREATE TABLE messages (
    room_id       TEXT NOT NULL REFERENCES rooms (id),
    seq           INTEGER NOT NULL,
    id            TEXT NOT NULL,
    sender_id     TEXT NOT NULL,
    client_msg_id TEXT NOT NULL,
    body          TEXT NOT NULL,
    reply_to      INTEGER NOT NULL DEFAULT 0,
    mentions      TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    edited_at     INTEGER NOT NULL DEFAULT 0,
    deleted_at    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, seq)
);
CREATE UNIQUE INDEX messages_client_msg ON messages (room_id, sender_id, client_msg_id);

-- The event log clients resume from. pos grows in commit order (the one
-- writer connection assigns it); rows are small: what changed is read from
-- messages and rooms as they are now.
CREATE TABLE room_events (
    pos        INTEGER PRIMARY KEY,
    room_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    seq        INTEGER NOT NULL DEFAULT 0,
    account_id TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX room_events_room ON room_events (room_id, pos);
CREATE INDEX room_events_account ON room_events (account_id, pos) WHERE account_id <> '';

-- +goose Down
DROP TABLE room_events;
DROP TABLE messages;
DROP TABLE room_members;
DROP TABLE rooms;
