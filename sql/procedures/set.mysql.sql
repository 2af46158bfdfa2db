-- MySQL's form; set.mariadb.sql is MariaDB's. The store installs the one its server needs.
-- Insert a session, or replace the data and expiry of an existing one.
-- One statement, so it is atomic without a transaction.
-- The sid parameter carries the column's own character set and collation: a parameter and a
-- column with different collations cannot be compared ("Illegal mix of collations").
-- The row alias `new` (MySQL 8.0.19+) names the row this INSERT would have written, so each
-- parameter is named once. VALUES(col), MariaDB's form (set.mariadb.sql), still runs on MySQL
-- but is deprecated there: every CALL would raise warning 1287.
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
  VALUES (p_sid, p_sess, p_expired) AS new
  ON DUPLICATE KEY UPDATE `sess` = new.`sess`, `expired` = new.`expired`;
END
