-- +goose Up
CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Domain names are stored in canonical ASCII (lower-case, IDNA A-labels),
-- so the unique index enforces R1's server-wide, case-insensitive rule.
CREATE TABLE domains (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX domains_name ON domains (name);
CREATE INDEX domains_tenant ON domains (tenant_id, name);

-- An account's tenant is not stored: it is the owner of its domain (R2, R3),
-- so moving or renaming a domain touches one row.
CREATE TABLE accounts (
    id                   TEXT PRIMARY KEY,
    kind                 TEXT NOT NULL CHECK (kind IN ('member', 'personal')),
    domain_id            TEXT REFERENCES domains (id),
    local                TEXT NOT NULL,
    display_name         TEXT NOT NULL,
    role                 TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    status               TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
    must_change_password INTEGER NOT NULL DEFAULT 0,
    password_hash        TEXT NOT NULL,
    password_initial     INTEGER NOT NULL DEFAULT 0,
    password_set_at      INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    CHECK ((kind = 'member') = (domain_id IS NOT NULL))
);
-- A deleted account frees its ID at once (R13).
CREATE UNIQUE INDEX accounts_member_id ON accounts (domain_id, local) WHERE kind = 'member' AND status <> 'deleted';
CREATE UNIQUE INDEX accounts_personal_handle ON accounts (local) WHERE kind = 'personal' AND status <> 'deleted';
CREATE INDEX accounts_domain ON accounts (domain_id, id);

CREATE TABLE sessions (
    id                   TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES accounts (id),
    token_hash           BLOB NOT NULL UNIQUE,
    password_change_only INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE setup_tokens (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    token_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE setup_tokens;
DROP TABLE sessions;
DROP TABLE accounts;
DROP TABLE domains;
DROP TABLE tenants;
