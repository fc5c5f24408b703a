-- Reproductions (复制件, issue 14 point 2): a copy is numbered within its original (第3份之复制件1)
-- and records the unit that made it (复制单位) and the date. Its copy_no is internal: -(the
-- original's 份号 × 100000 + repro_no), which keeps UNIQUE(document_id, copy_no) without ever
-- colliding with a printed 份号; what people read is the original's 份号 and repro_no. Owned by
-- package register.

ALTER TABLE items ADD COLUMN repro_no BIGINT;
ALTER TABLE items ADD COLUMN repro_unit TEXT;
ALTER TABLE items ADD COLUMN repro_on TEXT;
