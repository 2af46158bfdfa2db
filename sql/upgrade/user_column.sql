-- Schema 2 on a table made before it (by knex-mysql-session 0.1, or connect-session-knex): the
-- session owner column. Added in place without copying the table (instant on MySQL 8.0.12+ and
-- MariaDB 10.3+). `sid_collation` is this server's byte-wise NO PAD collation (see table.sql).
ALTER TABLE `{{table}}`
  ADD COLUMN `user_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE {{sid_collation}} NULL
