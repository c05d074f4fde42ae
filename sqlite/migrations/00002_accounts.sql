-- +goose Up
-- Tenant settings for the initial-password lifecycle and invite links.
ALTER TABLE tenants ADD COLUMN initial_password_ttl_hours INTEGER NOT NULL DEFAULT 720;
ALTER TABLE tenants ADD COLUMN allow_typed_initial_passwords INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tenants ADD COLUMN members_create_invite_links INTEGER NOT NULL DEFAULT 0;

-- An initial password not used by this time must be reissued (0: no limit).
ALTER TABLE accounts ADD COLUMN password_expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN contact_mail TEXT NOT NULL DEFAULT '';

-- A client (device, browser profile) holds up to N signed-in accounts (R5).
CREATE TABLE clients (
    id         TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
ALTER TABLE sessions ADD COLUMN client_id TEXT REFERENCES clients (id);
CREATE INDEX sessions_client ON sessions (client_id);

-- Sign-in failures per key ("account:ID", "id:local@domain", "addr:IP").
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
);

-- The audit trail of admin acts and security events (R14).
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT,
    actor_id    TEXT,
    action      TEXT NOT NULL,
    target_id   TEXT NOT NULL DEFAULT '',
    target      TEXT NOT NULL DEFAULT '',
    source_addr TEXT NOT NULL DEFAULT '',
    details     TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);

-- Initial passwords waiting to be printed: encrypted with a key derived
-- from a ticket only the issuing admin holds; gone after expiry.
CREATE TABLE sheet_tickets (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    ciphertext BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE invite_links (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    code_hash   BLOB NOT NULL UNIQUE,
    created_by  TEXT NOT NULL REFERENCES accounts (id),
    domain_ids  TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    max_uses    INTEGER NOT NULL,
    uses        INTEGER NOT NULL DEFAULT 0,
    revoked_at  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX invite_links_tenant ON invite_links (tenant_id, id);

-- +goose Down
DROP TABLE invite_links;
DROP TABLE sheet_tickets;
DROP TABLE audit_log;
DROP TABLE login_throttle;
DROP INDEX sessions_client;
ALTER TABLE sessions DROP COLUMN client_id;
DROP TABLE clients;
ALTER TABLE accounts DROP COLUMN contact_mail;
ALTER TABLE accounts DROP COLUMN password_expires_at;
ALTER TABLE tenants DROP COLUMN members_create_invite_links;
ALTER TABLE tenants DROP COLUMN allow_typed_initial_passwords;
ALTER TABLE tenants DROP COLUMN initial_password_ttl_hours;
