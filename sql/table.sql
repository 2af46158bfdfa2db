-- knex-mysql-session: the sessions table.
--
-- Placeholders, each written as the name in double braces (filled in by the store, the CLI's
-- `sql` command, or by hand):
--   table          the table name, e.g. sessions
--   sid            the session-id column, e.g. sid
--   sid_collation  a binary, NO PAD utf8mb4 collation, so that ids compare byte for byte:
--                  MySQL 8.0+ has utf8mb4_0900_bin; MariaDB 10.6+ has utf8mb4_nopad_bin
--                  (MariaDB knows no utf8mb4_0900_bin before 11.4.5, MySQL no *_nopad_bin).
--                  A PAD SPACE collation such as utf8mb4_bin would make 'a' and 'a ' one id.
--   schema_version the schema version stamped in the table comment
--
-- `user_id` is the session's owner, as the store's `userId` option names it (NULL for a session
-- without one, or when the option is not set); with encryption, a keyed hash of it. Indexed
-- alone, so that a user's sessions are found, counted and deleted by an index seek, and a change
-- of a session's expiry (every touch) rewrites only the `expired` index.
--
-- `destroyed` marks a session that destroy or destroyUser ended: its row stays, without
-- the session's data or owner, until the session would have expired anyway (the sweep then
-- deletes it with the expired rows), so that no later save or touch of that id, from any
-- process, brings the session back. A marker costs its id, a tiny `sess` and the two index
-- entries: about 60 bytes plus the id's length.
--
-- `sess` is JSON. MySQL stores it as binary JSON and mysql2 hands it back already parsed;
-- MariaDB's JSON is an alias of LONGTEXT with a JSON_VALID check and comes back as a string.
-- The store accepts both.
--
-- `expired` holds UTC wall-clock time written by the application (never NOW()), so neither the
-- server's nor the connection's time_zone changes what it means. DATETIME, not TIMESTAMP:
-- TIMESTAMP converts through the connection's time_zone and ends in 2038.
CREATE TABLE IF NOT EXISTS `{{table}}` (
  `{{sid}}` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE {{sid_collation}} NOT NULL,
  `sess` JSON NOT NULL,
  `expired` DATETIME NOT NULL,
  `user_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE {{sid_collation}} NULL,
  `destroyed` BOOLEAN NOT NULL DEFAULT FALSE,
  PRIMARY KEY (`{{sid}}`),
  KEY `{{table}}_expired_index` (`expired`),
  KEY `{{table}}_user_index` (`user_id`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COMMENT = 'knex-mysql-session schema {{schema_version}}'
