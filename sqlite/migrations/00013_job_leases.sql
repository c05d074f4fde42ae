-- +goose Up
-- Background jobs run on one node at a time: the node holding a job's
-- lease runs it; when it dies, the lease expires and another takes over.
CREATE TABLE job_leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE job_leases;
