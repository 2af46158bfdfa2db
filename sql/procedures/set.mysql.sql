-- MySQL's form; set.mariadb.sql is MariaDB's. The store installs the one its server needs.
-- Save a session: its data, expiry and owner (`user_id`, NULL for none): insert it, or replace
-- the row of that id, unless the row is a destroyed session's marker, which stays as it is:
-- a save from a request that read the session before a logout (or from a process that never
-- read it) must not bring it back, whichever process it runs in. One statement: the row lock
-- orders it with a concurrent destroy, so it is atomic without a transaction. In ON DUPLICATE
-- KEY UPDATE, `destroyed` names the row as it stands (it is assigned nothing).
-- The sid parameter carries the column's own character set and collation: a parameter and a
-- column with different collations cannot be compared ("Illegal mix of collations").
-- The row alias (MySQL 8.0.19+) names the row this INSERT would have written, so each
-- parameter is named once; it is the table's name with _new, as a table may be named `new`.
-- VALUES(col), MariaDB's form (set.mariadb.sql), still runs on MySQL but is deprecated there:
-- every CALL would raise warning 1287.
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
  VALUES (p_sid, p_sess, p_expired, p_user) AS `{{table}}_new`
  ON DUPLICATE KEY UPDATE
    `sess` = IF(`{{table}}`.`destroyed`, `{{table}}`.`sess`, `{{table}}_new`.`sess`),
    `expired` = IF(`{{table}}`.`destroyed`, `{{table}}`.`expired`, `{{table}}_new`.`expired`),
    `user_id` = IF(`{{table}}`.`destroyed`, `{{table}}`.`user_id`, `{{table}}_new`.`user_id`);
END
