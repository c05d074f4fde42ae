-- +goose Up
-- Proof that a tenant controls a domain: a TXT record with this token.
ALTER TABLE domains ADD COLUMN verification_token TEXT NOT NULL DEFAULT '';
ALTER TABLE domains ADD COLUMN verified_at INTEGER NOT NULL DEFAULT 0;
-- Domains that existed before get a token of their own.
UPDATE domains SET verification_token = lower(hex(randomblob(24)));

-- +goose Down
ALTER TABLE domains DROP COLUMN verified_at;
ALTER TABLE domains DROP COLUMN verification_token;
