-- Periodic checks (清查, issue 14 point 7), owned by package register. A check covers every copy
-- of one unit still in its custody when the check opens (check_items); copies in cabinets are
-- found by the complete RFID inventories stored after the opening (observations, read through
-- package store), copies out with people by a desk scan or the holder's confirmation
-- (check_confirmations). The first signature fixes each copy's outcome (check_items.outcome);
-- two different people sign (check_signatures); closing stores the signed 清查记录 PDF here, so
-- the record printed later is the one that was signed.

CREATE TABLE checks (
    id            INTEGER PRIMARY KEY,
    unit_id       INTEGER NOT NULL REFERENCES units(id),
    period        TEXT NOT NULL,               -- the period it counts for: 2026-12 or 2026-Q4
    state         TEXT NOT NULL CHECK (state IN ('open','signing','closed')),
    opened_by     INTEGER NOT NULL REFERENCES people(id),
    opened_at     TEXT NOT NULL,
    frozen_at     TEXT,                        -- the first signature: outcomes fixed
    closed_by     INTEGER REFERENCES people(id),
    closed_at     TEXT,
    report        BLOB,                        -- the signed 清查记录 (PDF)
    report_sha256 TEXT NOT NULL DEFAULT ''
);
-- One check at a time per unit.
CREATE UNIQUE INDEX checks_one_open ON checks(unit_id) WHERE state <> 'closed';
CREATE INDEX checks_unit_period ON checks(unit_id, period);

CREATE TABLE check_items (
    check_id     INTEGER NOT NULL REFERENCES checks(id),
    item_id      INTEGER NOT NULL REFERENCES items(id),
    state_open   TEXT NOT NULL,               -- the register's state when the check opened
    holder_open  INTEGER REFERENCES people(id),
    outcome      TEXT NOT NULL DEFAULT '',    -- fixed at the first signature
    seen_cabinet TEXT NOT NULL DEFAULT '',    -- where an inventory read it, if elsewhere
    state_fixed  TEXT NOT NULL DEFAULT '',    -- the register's state at the first signature
    PRIMARY KEY (check_id, item_id)
);

CREATE TABLE check_confirmations (
    check_id  INTEGER NOT NULL REFERENCES checks(id),
    item_id   INTEGER NOT NULL REFERENCES items(id),
    how       TEXT NOT NULL CHECK (how IN ('desk_scan','holder','holder_pin','recorded')),
    by_id     INTEGER NOT NULL REFERENCES people(id), -- who recorded it (the custodian, or the holder)
    holder_id INTEGER REFERENCES people(id),          -- whose holding was confirmed
    note      TEXT NOT NULL DEFAULT '',
    at        TEXT NOT NULL,
    PRIMARY KEY (check_id, item_id)
);

CREATE TABLE check_signatures (
    check_id  INTEGER NOT NULL REFERENCES checks(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    role      TEXT NOT NULL,                  -- custodian or leader, as signed
    note      TEXT NOT NULL DEFAULT '',
    at        TEXT NOT NULL,
    PRIMARY KEY (check_id, person_id)
);

-- The inventory each cabinet's copies were judged by, fixed with the outcomes.
CREATE TABLE check_cabinets (
    check_id INTEGER NOT NULL REFERENCES checks(id),
    cabinet  TEXT NOT NULL,                   -- cabinet code
    round    TEXT NOT NULL DEFAULT '',        -- the agent's round id ('' : none since the opening)
    ended_at TEXT NOT NULL DEFAULT '',
    tags     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (check_id, cabinet)
);
