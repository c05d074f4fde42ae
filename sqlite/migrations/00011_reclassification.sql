-- +goose Up
-- Hand-overs of a former member's rooms to an external account the person
-- named; at most one pending per member.
CREATE TABLE handovers (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    from_id    TEXT NOT NULL REFERENCES accounts (id),
    to_id      TEXT NOT NULL REFERENCES accounts (id),
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    decided_at INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX handovers_pending ON handovers (from_id) WHERE status = 'pending';
CREATE INDEX handovers_to ON handovers (to_id, status);
CREATE INDEX handovers_tenant ON handovers (tenant_id, created_at);

-- +goose Down
DROP TABLE handovers;
