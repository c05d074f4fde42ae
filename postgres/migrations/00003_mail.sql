-- +goose Up
-- The outbox: mail waits here until a worker delivers it.
CREATE TABLE outgoing_mail (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    account_id      TEXT REFERENCES accounts (id),
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outgoing_mail_due ON outgoing_mail (status, next_attempt_at);
CREATE INDEX outgoing_mail_tenant ON outgoing_mail (tenant_id, id);

-- +goose Down
DROP TABLE outgoing_mail;
