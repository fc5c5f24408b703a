-- Secrecy terms, level changes and declassification (issue 14 point 6). The term (保密期限) stays
-- as written ("10年", "6个月", "长期", "2030-12-31") and is parsed by package custody; term_start is
-- where it counts from (the 成文日期 unless the issuer said otherwise). A level change (密级变更) or
-- declassification (解密) is decided by an authority outside the office and recorded here with
-- that authority and its decision's document number. Owned by package register.

ALTER TABLE documents ADD COLUMN term_start TEXT;
ALTER TABLE documents ADD COLUMN declassified_at TEXT;

CREATE TABLE document_decisions (
    id          INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    kind        TEXT NOT NULL CHECK (kind IN ('level_change','declassify')),
    at          TEXT NOT NULL,
    actor_id    INTEGER NOT NULL REFERENCES people(id),
    from_level  TEXT NOT NULL,
    to_level    TEXT NOT NULL DEFAULT '',
    from_term   TEXT NOT NULL,
    to_term     TEXT NOT NULL DEFAULT '',
    authority   TEXT NOT NULL,   -- who decided (定密机关/发文单位)
    decision_no TEXT NOT NULL,   -- the decision's document number
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX document_decisions_doc ON document_decisions(document_id);
