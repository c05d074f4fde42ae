-- +goose Up
-- A cancelled tenant (R13) keeps its rows, and its domain names stay
-- reserved, until purge_after; meanwhile its owner can restore it with a
-- code shown once at cancellation, of which only the SHA-256 is kept.
ALTER TABLE tenants ADD COLUMN cancelled_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN purge_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN restore_code_hash BYTEA;
CREATE UNIQUE INDEX tenants_restore_code ON tenants (restore_code_hash) WHERE restore_code_hash IS NOT NULL;
-- The hourly purge job looks for what outlived its retention: few rows,
-- found without scanning every tenant or domain.
CREATE INDEX tenants_purge ON tenants (purge_after) WHERE cancelled_at <> 0;
CREATE INDEX domains_purge ON domains (purge_after) WHERE deleted_at <> 0;

-- +goose Down
DROP INDEX domains_purge;
DROP INDEX tenants_purge;
DROP INDEX tenants_restore_code;
ALTER TABLE tenants DROP COLUMN restore_code_hash;
ALTER TABLE tenants DROP COLUMN purge_after;
ALTER TABLE tenants DROP COLUMN cancelled_at;
