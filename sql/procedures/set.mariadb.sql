-- MariaDB's form; set.mysql.sql is MySQL's. The store installs the one its server needs.
-- Save a session: its data, expiry and owner (`user_id`, NULL for none): insert it, or replace
-- the row of that id, unless the row is a destroyed session's marker, which stays as it is:
-- a save from a request that read the session before a logout (or from a process that never
-- read it) must not bring it back, whichever process it runs in. One statement: the row lock
-- orders it with a concurrent destroy, so it is atomic without a transaction. In ON DUPLICATE
-- KEY UPDATE, `destroyed` names the row as it stands (it is assigned nothing).
-- The sid parameter carries the column's own character set and collation: a parameter and a
-- column with different collations cannot be compared ("Illegal mix of collations").
-- VALUES(col), the value this INSERT would have written, names each parameter only once.
-- MariaDB rewrites every use of a routine parameter in a statement into
-- NAME_CONST('p_sess', '<the whole value, escaped>') on every call, for its binary log, even
-- with the log off; a second use of p_sess costs a second copy of the session. MariaDB has no
-- row alias (the form MySQL uses).
CREATE PROCEDURE `{{table}}_set_v{{schema_version}}`(
  IN p_sid VARCHAR(255) CHARACTER SET {{sid_charset}} COLLATE {{sid_collation}},
  IN p_sess LONGTEXT CHARACTER SET utf8mb4,
  IN p_expired DATETIME,
  IN p_user VARCHAR(255) CHARACTER SET {{user_charset}} COLLATE {{user_collation}}
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: insert or replace a session unless destroyed, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  INSERT INTO `{{table}}` (`{{sid}}`, `sess`, `expired`, `user_id`)
  VALUES (p_sid, p_sess, p_expired, p_user)
  ON DUPLICATE KEY UPDATE `sess` = IF(`destroyed`, `sess`, VALUES(`sess`)),
    `expired` = IF(`destroyed`, `expired`, VALUES(`expired`)),
    `user_id` = IF(`destroyed`, `user_id`, VALUES(`user_id`));
END
