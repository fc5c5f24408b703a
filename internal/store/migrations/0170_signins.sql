-- Sign-ins kept in the register (issue 21 point 10): a console session is a row here as an API
-- token is, so it survives a restart of custodyd, is honoured by every custodyd on one database,
-- and the security administrator lists and ends it. Only the SHA-256 of a secret (the bearer
-- token, the console's cookie) is stored. The table is rebuilt rather than altered: the list
-- and a revocation name a sign-in by a plain number, which a column added to a table cannot
-- become in every database; the tokens of the API held until now are kept.
ALTER TABLE tokens RENAME TO tokens_0001;
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,   -- SHA-256 of the bearer token or the console's cookie
    person_id  INTEGER NOT NULL REFERENCES people(id),
    client     TEXT NOT NULL CHECK (client IN ('api', 'console')),
    remote     TEXT NOT NULL,          -- the client's address at its latest request ('' unknown)
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL,          -- its latest request, to the minute
    flash      TEXT                    -- console: a refusal to show once, on the next page
);
CREATE INDEX tokens_person ON tokens(person_id);
INSERT INTO tokens(hash, person_id, client, remote, created_at, expires_at, seen_at)
    SELECT hash, person_id, 'api', '', created_at, expires_at, created_at FROM tokens_0001;
DROP TABLE tokens_0001;
