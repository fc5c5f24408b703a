-- The register: units, people and their roles, documents, numbered copies (items), cabinets,
-- desks, agents, login tokens and the audit chain. Times are RFC 3339 UTC text.

CREATE TABLE units (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE people (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    unit_id              INTEGER REFERENCES units(id),
    password_hash        TEXT NOT NULL DEFAULT '',
    must_change_password INTEGER NOT NULL DEFAULT 0,
    active               INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL
);

CREATE TABLE person_roles (
    person_id INTEGER NOT NULL REFERENCES people(id),
    role      TEXT NOT NULL CHECK (role IN ('admin','secadmin','auditor','custodian','leader','holder')),
    PRIMARY KEY (person_id, role)
);

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,          -- SHA-256 of the bearer token; the token itself is never stored
    person_id  INTEGER NOT NULL REFERENCES people(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE documents (
    id              INTEGER PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,  -- 发文字号
    title           TEXT NOT NULL,
    issuing_unit_id INTEGER NOT NULL REFERENCES units(id),
    level           TEXT NOT NULL CHECK (level IN ('top-secret','secret','confidential')),
    issued_on       TEXT NOT NULL,
    secrecy_term    TEXT NOT NULL,         -- 保密期限, e.g. "10年"
    copies          INTEGER NOT NULL CHECK (copies BETWEEN 1 AND 10000),
    created_by      INTEGER NOT NULL REFERENCES people(id),
    created_at      TEXT NOT NULL
);

-- Readership scope (知悉范围): units and people allowed to read a document.
CREATE TABLE document_scope (
    document_id INTEGER NOT NULL REFERENCES documents(id),
    unit_id     INTEGER REFERENCES units(id),
    person_id   INTEGER REFERENCES people(id),
    CHECK ((unit_id IS NULL) <> (person_id IS NULL))
);
CREATE INDEX document_scope_doc ON document_scope(document_id);

CREATE TABLE agents (
    id         TEXT PRIMARY KEY,
    key        BLOB NOT NULL,              -- HMAC key and MQTT password; custodyd must hold it to verify MACs
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE cabinets (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    room       TEXT NOT NULL DEFAULT '',
    unit_id    INTEGER REFERENCES units(id),
    agent_id   TEXT REFERENCES agents(id),
    zones      TEXT NOT NULL DEFAULT '[]', -- JSON: [{"zone":"shelf-1","antennas":[1,2]}]
    created_at TEXT NOT NULL
);

CREATE TABLE desks (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    room       TEXT NOT NULL DEFAULT '',
    agent_id   TEXT REFERENCES agents(id),
    created_at TEXT NOT NULL
);

CREATE TABLE items (
    id             INTEGER PRIMARY KEY,
    document_id    INTEGER NOT NULL REFERENCES documents(id),
    copy_no        INTEGER NOT NULL,       -- 份号
    source_item_id INTEGER REFERENCES items(id), -- set for an approved reproduction (复制件)
    state          TEXT NOT NULL,
    cabinet_id     INTEGER REFERENCES cabinets(id),
    holder_id      INTEGER REFERENCES people(id),
    due_at         TEXT,
    epc            TEXT UNIQUE,            -- filled by the labels issue
    barcode        TEXT UNIQUE,
    updated_at     TEXT NOT NULL,
    UNIQUE (document_id, copy_no)
);
CREATE INDEX items_cabinet ON items(cabinet_id) WHERE cabinet_id IS NOT NULL;
CREATE INDEX items_holder ON items(holder_id) WHERE holder_id IS NOT NULL;

-- The audit chain (package audit). Append-only: the triggers refuse updates and deletes, so a
-- mistaken or malicious statement through the application fails loudly; an edit of the file
-- itself is caught by the hash chain.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    before    TEXT,
    after     TEXT,
    approvals TEXT,
    parties   TEXT,
    prev      TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
