-- +goose Up
-- Former names of renamed domains: they keep working for sign-in until
-- expires_at and stay reserved (no other tenant can take them) meanwhile.
CREATE TABLE domain_aliases (
    name       TEXT PRIMARY KEY,
    domain_id  TEXT NOT NULL REFERENCES domains (id),
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX domain_aliases_domain ON domain_aliases (domain_id);

-- +goose Down
DROP TABLE domain_aliases;
