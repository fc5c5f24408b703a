-- Scans from a desk's scanner that a handover refused (unknown label, wrong state, …). A typed scan
-- gets its refusal in the answer; the scanner's arrive through the agent, so the custodian reads
-- them with the session instead.
CREATE TABLE session_rejects (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    at         TEXT NOT NULL,
    scan       TEXT NOT NULL,
    source     TEXT NOT NULL,
    reason_zh  TEXT NOT NULL,
    reason_en  TEXT NOT NULL
);
CREATE INDEX session_rejects_session ON session_rejects(session_id);
