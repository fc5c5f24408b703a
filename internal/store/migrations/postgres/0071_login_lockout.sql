-- Login lockout (issue 12): wrong passwords in a row per account, and when the account was locked
-- because of them. Only the security administrator unlocks (person.unlock); a successful login
-- resets the count.
ALTER TABLE people ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE people ADD COLUMN locked_at TEXT;
