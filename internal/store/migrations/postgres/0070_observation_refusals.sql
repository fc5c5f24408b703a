-- Envelopes that were signed by an enrolled agent but refused because they spoke for a cabinet or
-- desk not bound to it (rule 12: not_bound). Their content is never stored — only that the seq
-- was used, so the agent's stream has no hole that custodyd would ask to be filled again and again,
-- and which envelope was refused. The security alert and the audit record say the rest.
CREATE TABLE observation_refusals (
    agent       TEXT NOT NULL REFERENCES agents(id),
    seq         BIGINT NOT NULL CHECK (seq >= 1),
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (agent, seq)
);
