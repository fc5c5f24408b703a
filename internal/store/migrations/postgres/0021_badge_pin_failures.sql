-- Wrong PINs per badge: after a few in a row the badge is locked until it is issued again, so a
-- four-digit PIN cannot be guessed at the desk.
ALTER TABLE badges ADD COLUMN failed_pins BIGINT NOT NULL DEFAULT 0;
