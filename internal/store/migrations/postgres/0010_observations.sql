-- Observations received over MQTT (internal/ingest), exactly as signed by the agent, so each can be
-- verified again later. The unique keys make a second delivery a no-op, also when two custodyd
-- instances consume one stream through a shared subscription.
CREATE TABLE observations (
    -- SQLite's implicit rowid, made explicit: the order observations were stored in (package
    -- store's digests read "everything after row n"). Writes are serialised, so it is also the
    -- commit order.
    rowid       BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    agent       TEXT NOT NULL REFERENCES agents(id),
    seq         BIGINT NOT NULL CHECK (seq >= 1),
    id          TEXT NOT NULL,
    boot        TEXT NOT NULL,
    v           TEXT NOT NULL,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,             -- the body bytes the MAC covers
    mac         TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (agent, seq),
    UNIQUE (id)
);

-- Per agent: every seq up to contiguous is stored; max_seen is the highest stored. A gap
-- (max_seen > contiguous) makes ingest ask the agent for a resync.
CREATE TABLE observation_seqs (
    agent      TEXT PRIMARY KEY REFERENCES agents(id),
    contiguous BIGINT NOT NULL,
    max_seen   BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
