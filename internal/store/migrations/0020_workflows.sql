-- Custody workflows at the custodian's desk (issue 7): badges and PINs, approvals, handover
-- sessions and their scans, destruction batches, recall campaigns (清退) and the per-item chain of
-- custody. Times are RFC 3339 UTC text.

-- A person's badge: the code printed on it (scanned at the desk) and an argon2id hash of the PIN
-- the person types to confirm a handover. One badge per person; a reissued badge replaces it.
CREATE TABLE badges (
    person_id  INTEGER PRIMARY KEY REFERENCES people(id),
    code       TEXT NOT NULL UNIQUE,
    pin_hash   TEXT NOT NULL,
    issued_at  TEXT NOT NULL
);

ALTER TABLE people ADD COLUMN closed_at TEXT;

-- Where an item lives when it is not in its cabinet, and why it is out: home_cabinet_id is the
-- cabinet a returned item goes back to; purpose is borrow, circulate, reading_room or take_out;
-- place is the reading room or destination; approval_id the approval it went out under.
ALTER TABLE items ADD COLUMN home_cabinet_id INTEGER REFERENCES cabinets(id);
ALTER TABLE items ADD COLUMN purpose TEXT;
ALTER TABLE items ADD COLUMN place TEXT;
ALTER TABLE items ADD COLUMN approval_id INTEGER;
ALTER TABLE items ADD COLUMN batch_id INTEGER;
ALTER TABLE items ADD COLUMN receipt TEXT;
UPDATE items SET home_cabinet_id = cabinet_id WHERE cabinet_id IS NOT NULL;

-- Approvals: a request addressed to a role in a unit; decided once by a person holding that role
-- in that unit; valid until expires_at; used at most once by the flow it was asked for.
CREATE TABLE approvals (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('take_out','reproduce','destruction','scope','borrow')),
    unit_id       INTEGER NOT NULL REFERENCES units(id),
    approver_role TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending','approved','rejected','used')),
    requested_by  INTEGER NOT NULL REFERENCES people(id),
    for_person_id INTEGER REFERENCES people(id), -- who takes out / reads, when it matters
    document_id   INTEGER REFERENCES documents(id),
    reason        TEXT NOT NULL,
    copies        INTEGER NOT NULL DEFAULT 0,     -- reproduction: how many copies
    due_at        TEXT,                           -- take-out: when it must be back
    scope_units   TEXT NOT NULL DEFAULT '',       -- scope widening: unit codes, newline-separated
    scope_people  TEXT NOT NULL DEFAULT '',
    decided_by    INTEGER REFERENCES people(id),
    decided_at    TEXT,
    note          TEXT NOT NULL DEFAULT '',
    expires_at    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    used_at       TEXT
);
CREATE TABLE approval_items (
    approval_id INTEGER NOT NULL REFERENCES approvals(id),
    item_id     INTEGER NOT NULL REFERENCES items(id),
    PRIMARY KEY (approval_id, item_id)
);

-- Handover sessions at a desk. The custodian opens one; scans add the counterpart (badge) and
-- items (labels); closing applies every transition in one transaction, or nothing.
CREATE TABLE sessions (
    id                  INTEGER PRIMARY KEY,
    desk_id             INTEGER NOT NULL REFERENCES desks(id),
    purpose             TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('open','closed','abandoned')),
    custodian_id        INTEGER NOT NULL REFERENCES people(id),
    counterpart_id      INTEGER REFERENCES people(id),
    second_custodian_id INTEGER REFERENCES people(id),
    due_at              TEXT,
    approval_id         INTEGER REFERENCES approvals(id),
    batch_id            INTEGER,
    cabinet_id          INTEGER REFERENCES cabinets(id),
    target_unit_id      INTEGER REFERENCES units(id),
    place               TEXT NOT NULL DEFAULT '',
    note                TEXT NOT NULL DEFAULT '',
    receipt             TEXT NOT NULL DEFAULT '',
    opened_at           TEXT NOT NULL,
    closed_at           TEXT
);
-- One open session per desk: the scanner's observations must land in exactly one.
CREATE UNIQUE INDEX sessions_open_desk ON sessions(desk_id) WHERE state = 'open';

CREATE TABLE session_items (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    item_id    INTEGER NOT NULL REFERENCES items(id),
    scan       TEXT NOT NULL,   -- what was scanned or typed
    source     TEXT NOT NULL,   -- typed, agent:<id>
    state_seen TEXT NOT NULL,   -- the item's state when scanned; re-checked at close
    at         TEXT NOT NULL,
    PRIMARY KEY (session_id, item_id)
);

-- Destruction batches (造册): listed by a custodian, approved by a leader, destroyed whole.
CREATE TABLE destruction_batches (
    id          INTEGER PRIMARY KEY,
    unit_id     INTEGER REFERENCES units(id),
    state       TEXT NOT NULL CHECK (state IN ('listed','approved','rejected','destroyed')),
    reason      TEXT NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES people(id),
    approval_id INTEGER REFERENCES approvals(id),
    session_id  INTEGER REFERENCES sessions(id),
    created_at  TEXT NOT NULL,
    destroyed_at TEXT
);
CREATE TABLE destruction_items (
    batch_id INTEGER NOT NULL REFERENCES destruction_batches(id),
    item_id  INTEGER NOT NULL REFERENCES items(id),
    PRIMARY KEY (batch_id, item_id)
);

-- Recall campaigns (清退).
CREATE TABLE recalls (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    deadline   TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('open','closed')),
    created_by INTEGER NOT NULL REFERENCES people(id),
    created_at TEXT NOT NULL,
    closed_at  TEXT
);
CREATE TABLE recall_items (
    recall_id   INTEGER NOT NULL REFERENCES recalls(id),
    item_id     INTEGER NOT NULL REFERENCES items(id),
    holder_id   INTEGER REFERENCES people(id), -- who held it when the campaign started
    returned_at TEXT,
    PRIMARY KEY (recall_id, item_id)
);

-- The chain of custody per item (rule 9): every transition with both parties, so an item's
-- history is one indexed query rather than a scan of the audit log. The audit record it came
-- from is named by seq.
CREATE TABLE item_events (
    id           INTEGER PRIMARY KEY,
    item_id      INTEGER NOT NULL REFERENCES items(id),
    at           TEXT NOT NULL,
    action       TEXT NOT NULL,
    from_state   TEXT NOT NULL,
    to_state     TEXT NOT NULL,
    actor_id     INTEGER REFERENCES people(id),
    counterpart_id INTEGER REFERENCES people(id),
    session_id   INTEGER REFERENCES sessions(id),
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX item_events_item ON item_events(item_id);
