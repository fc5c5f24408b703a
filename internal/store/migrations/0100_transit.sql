-- Transit (机要交通) and handovers to units outside the register (上交、移交), issue 14 point 5.
-- A transit is one envelope handed to a courier at the desk (kind courier: the copies are 在途
-- until the other unit's receipt is recorded), or one handover at the desk to a person of another
-- unit (kind handover: the receipt is recorded at once). The other unit has no account here: it
-- is named, and its receipt is recorded by number and the receiver's name. Owned by package
-- register.
CREATE TABLE transits (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('courier','handover')),
    session_id  INTEGER NOT NULL UNIQUE REFERENCES sessions(id),
    destination TEXT NOT NULL,              -- the receiving unit, by name
    courier     TEXT NOT NULL DEFAULT '',   -- 机要交通员, by name
    envelope    TEXT NOT NULL DEFAULT '',   -- 信封编号（封号）
    expected_at TEXT,                       -- expected arrival (courier)
    sent_at     TEXT NOT NULL,
    sent_by     INTEGER NOT NULL REFERENCES people(id),
    receipt     TEXT NOT NULL DEFAULT '',   -- the other unit's receipt number (回执编号)
    receiver    TEXT NOT NULL DEFAULT '',   -- who signed it there, by name
    received_at TEXT,                       -- when the receipt was recorded here
    recorded_by INTEGER REFERENCES people(id),
    note        TEXT NOT NULL DEFAULT ''
);

CREATE TABLE transit_items (
    transit_id INTEGER NOT NULL REFERENCES transits(id),
    item_id    INTEGER NOT NULL REFERENCES items(id),
    PRIMARY KEY (transit_id, item_id)
);
CREATE INDEX transit_items_item ON transit_items(item_id);

-- What a dispatch or an outside transfer is opened with at the desk.
ALTER TABLE sessions ADD COLUMN envelope TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN destination TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN receiver TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN expected_at TEXT;
