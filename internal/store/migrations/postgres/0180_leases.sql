-- Leader leases (internal/lease, issue 18): several custodyd instances share one database, and the
-- duties that must run once (reconciliation and alerting, escalation, the nightly schedule, head
-- signing) run on the instance holding the row. expires_ms is Unix milliseconds (compared as a
-- number, portable to PostgreSQL); mark is the holder's progress through the observations it has
-- handed to its duties, from which a successor resumes.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_ms  BIGINT NOT NULL,
    acquired_at TEXT NOT NULL,
    term        BIGINT NOT NULL DEFAULT 0,
    mark        BIGINT NOT NULL DEFAULT 0
);

-- Every observation's place in commit order, so that the leader reads what any instance stored
-- from a cursor (store.ObservationsAfter). Writes are serialised, so the next pos is the greatest
-- plus one; the rows stored before this take their rowid (migrations/postgres/0010), which is in
-- insertion order.
ALTER TABLE observations ADD COLUMN pos BIGINT;
UPDATE observations SET pos = rowid;
CREATE UNIQUE INDEX observations_pos ON observations(pos);
