-- Schema 3 on a table made before it: the column that marks a destroyed session (see
-- table.sql). Added in place without copying the table (instant on MySQL 8.0.12+ and MariaDB
-- 10.3+); apps of schema 2 go on meanwhile (their statements do not name it).
ALTER TABLE `{{table}}`
  ADD COLUMN `destroyed` BOOLEAN NOT NULL DEFAULT FALSE
