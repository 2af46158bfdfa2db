-- MariaDB's form; set.mysql.sql is MySQL's. The store installs the one its server needs.
-- Insert a session, or replace the data and expiry of an existing one.
-- One statement, so it is atomic without a transaction.
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
  IN p_expired DATETIME
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: insert or replace a session, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  INSERT INTO `{{table}}` (`{{sid}}`, `sess`, `expired`)
  VALUES (p_sid, p_sess, p_expired)
  ON DUPLICATE KEY UPDATE `sess` = VALUES(`sess`), `expired` = VALUES(`expired`);
END
