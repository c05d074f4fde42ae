-- +goose Up
-- A domain handed from one tenant to another: offered by the source's
-- admin, accepted by the target's.
CREATE TABLE domain_transfers (
    id          TEXT PRIMARY KEY,
    domain_id   TEXT NOT NULL REFERENCES domains (id),
    from_tenant TEXT NOT NULL REFERENCES tenants (id),
    to_tenant   TEXT NOT NULL REFERENCES tenants (id),
    created_by  TEXT NOT NULL REFERENCES accounts (id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'cancelled')),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    decided_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX domain_transfers_from ON domain_transfers (from_tenant, status);
CREATE INDEX domain_transfers_to ON domain_transfers (to_tenant, status);

-- +goose Down
DROP TABLE domain_transfers;
