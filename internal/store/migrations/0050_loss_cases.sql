-- Loss cases (追查, issue 14 point 3): a 报失 opens one at once; it freezes the copies reported
-- (state lost), keeps the history of the search and is closed only by a leader with a conclusion.
-- A recall closed over lost copies records the deciding leader's note. Owned by package register,
-- except alerts.loss_case, which package alert sets when a confirmed missing alert is handed to
-- the loss case instead of resolving itself.

CREATE TABLE loss_cases (
    id          INTEGER PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN ('open','closed')),
    reported_by INTEGER NOT NULL REFERENCES people(id),
    reported_at TEXT NOT NULL,
    note        TEXT NOT NULL,                 -- when, where, how (as reported)
    closed_by   INTEGER REFERENCES people(id), -- the leader who concluded the search
    closed_at   TEXT,
    conclusion  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE loss_case_items (
    case_id INTEGER NOT NULL REFERENCES loss_cases(id),
    item_id INTEGER NOT NULL REFERENCES items(id),
    PRIMARY KEY (case_id, item_id)
);
CREATE INDEX loss_case_items_item ON loss_case_items(item_id);
CREATE TABLE loss_case_events (
    id       INTEGER PRIMARY KEY,
    case_id  INTEGER NOT NULL REFERENCES loss_cases(id),
    at       TEXT NOT NULL,
    actor_id INTEGER REFERENCES people(id),
    event    TEXT NOT NULL,  -- reported, progress, recovered, alert_linked, closed
    note     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX loss_case_events_case ON loss_case_events(case_id);

ALTER TABLE recalls ADD COLUMN closed_by INTEGER REFERENCES people(id);
ALTER TABLE recalls ADD COLUMN close_note TEXT NOT NULL DEFAULT '';

ALTER TABLE alerts ADD COLUMN loss_case INTEGER;
