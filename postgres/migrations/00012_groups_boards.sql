-- +goose Up
-- Directory search: display names folded for prefix search (see
-- kizuna.SearchKey); IDs are searched by their local part, already folded.
ALTER TABLE accounts ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE accounts SET name_key = LOWER(display_name);
CREATE INDEX accounts_name_key ON accounts (domain_id, name_key COLLATE "C") WHERE status <> 'deleted';
CREATE INDEX accounts_local_key ON accounts (domain_id, local COLLATE "C") WHERE status <> 'deleted';

-- Restricted members (R10) and what restriction means in each tenant.
CREATE TABLE restricted_members (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    tenant_id  TEXT NOT NULL,
    since      BIGINT NOT NULL
);
CREATE TABLE tenant_restrictions (
    tenant_id            TEXT PRIMARY KEY,
    hide_boards          BOOLEAN NOT NULL DEFAULT TRUE,
    limit_directory      BOOLEAN NOT NULL DEFAULT TRUE,
    no_invite_links      BOOLEAN NOT NULL DEFAULT TRUE,
    no_external_contacts BOOLEAN NOT NULL DEFAULT TRUE
);

-- Groups form a tree per tenant; a group may have a room that follows it.
CREATE TABLE tenant_groups (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    parent_id  TEXT NOT NULL DEFAULT '',
    room_id    TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX tenant_groups_tenant ON tenant_groups (tenant_id, name);
CREATE INDEX tenant_groups_parent ON tenant_groups (parent_id);
CREATE TABLE group_members (
    group_id   TEXT NOT NULL REFERENCES tenant_groups (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    role       TEXT NOT NULL,
    PRIMARY KEY (group_id, account_id)
);
CREATE INDEX group_members_account ON group_members (account_id);

-- Boards, their rules, posts, comments and read marks.
CREATE TABLE boards (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    name             TEXT NOT NULL,
    group_id         TEXT NOT NULL DEFAULT '',
    allow_restricted BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       BIGINT NOT NULL
);
CREATE INDEX boards_tenant ON boards (tenant_id, name);
CREATE TABLE board_rules (
    board_id TEXT NOT NULL REFERENCES boards (id),
    rights   TEXT NOT NULL,
    kind     TEXT NOT NULL,
    ref_id   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (board_id, rights, kind, ref_id)
);
CREATE TABLE posts (
    id         TEXT PRIMARY KEY,
    board_id   TEXT NOT NULL REFERENCES boards (id),
    author_id  TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    pinned     BOOLEAN NOT NULL DEFAULT FALSE,
    must_read  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX posts_board ON posts (board_id, pinned, id);
CREATE TABLE post_comments (
    id         TEXT PRIMARY KEY,
    post_id    TEXT NOT NULL REFERENCES posts (id),
    author_id  TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX post_comments_post ON post_comments (post_id, id);
CREATE TABLE post_reads (
    post_id    TEXT NOT NULL REFERENCES posts (id),
    account_id TEXT NOT NULL,
    read_at    BIGINT NOT NULL,
    PRIMARY KEY (post_id, account_id)
);

-- +goose Down
DROP TABLE post_reads;
DROP TABLE post_comments;
DROP TABLE posts;
DROP TABLE board_rules;
DROP TABLE boards;
DROP TABLE group_members;
DROP TABLE tenant_groups;
DROP TABLE tenant_restrictions;
DROP TABLE restricted_members;
DROP INDEX accounts_local_key;
DROP INDEX accounts_name_key;
ALTER TABLE accounts DROP COLUMN name_key;
