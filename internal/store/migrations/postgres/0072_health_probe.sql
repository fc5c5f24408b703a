-- /healthz writes here (at most every few seconds) to prove the store can still write: a full disk
-- or a read-only file system fails this write before it fails a person's change.
CREATE TABLE health_probe (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    at TEXT NOT NULL
);
