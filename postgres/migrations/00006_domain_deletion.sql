-- +goose Up
-- Deleted domains stay (name reserved) until purge_after; members deleted
-- with their domain remember it, so a restore brings them back.
ALTER TABLE domains ADD COLUMN deleted_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN purge_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN deleted_with_domain TEXT;
CREATE INDEX accounts_deleted_with_domain ON accounts (deleted_with_domain);
-- Owners are few: finding them per domain must not scan every member.
CREATE INDEX accounts_owners ON accounts (domain_id) WHERE role = 'owner';

-- +goose Down
DROP INDEX accounts_owners;
DROP INDEX accounts_deleted_with_domain;
ALTER TABLE accounts DROP COLUMN deleted_with_domain;
ALTER TABLE domains DROP COLUMN purge_after;
ALTER TABLE domains DROP COLUMN deleted_at;
