-- +goose Up
-- The external-talk policy of each tenant (R9). New and existing tenants
-- start open, as the product this one is modelled on does.
ALTER TABLE tenants ADD COLUMN allow_external_personal BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE tenants ADD COLUMN allow_other_tenants BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE tenants ADD COLUMN external_contacts TEXT NOT NULL DEFAULT 'free'
    CHECK (external_contacts IN ('free', 'approval', 'admins_only'));

-- A member's exception to the tenant's policy: '' follows the tenant.
ALTER TABLE accounts ADD COLUMN external_talk TEXT NOT NULL DEFAULT ''
    CHECK (external_talk IN ('', 'allow', 'deny'));

-- One contact per pair of accounts: pair_low and pair_high are the two IDs
-- in order, so that A→B and B→A hit the same unique index.
CREATE TABLE contacts (
    id                 TEXT PRIMARY KEY,
    requester_id       TEXT NOT NULL REFERENCES accounts (id),
    target_id          TEXT NOT NULL REFERENCES accounts (id),
    pair_low           TEXT NOT NULL,
    pair_high          TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('awaiting_approval', 'awaiting_acceptance', 'accepted', 'declined')),
    stage              TEXT NOT NULL DEFAULT '' CHECK (stage IN ('', 'request', 'acceptance')),
    approver_tenant_id TEXT REFERENCES tenants (id),
    declined_by        TEXT NOT NULL DEFAULT '',
    expires_at         BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    CHECK (requester_id <> target_id),
    CHECK ((status = 'awaiting_approval') = (approver_tenant_id IS NOT NULL))
);
CREATE UNIQUE INDEX contacts_pair ON contacts (pair_low, pair_high);
CREATE INDEX contacts_requester ON contacts (requester_id, id);
CREATE INDEX contacts_target ON contacts (target_id, id);
CREATE INDEX contacts_approver ON contacts (approver_tenant_id, id) WHERE approver_tenant_id IS NOT NULL;

-- Each account's contact code, hashed: whoever holds the code can ask for a
-- contact without knowing the ID. Rotating replaces the row.
CREATE TABLE contact_codes (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    code_hash  BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE contact_codes;
DROP TABLE contacts;
ALTER TABLE accounts DROP COLUMN external_talk;
ALTER TABLE tenants DROP COLUMN external_contacts;
ALTER TABLE tenants DROP COLUMN allow_other_tenants;
ALTER TABLE tenants DROP COLUMN allow_external_personal;
