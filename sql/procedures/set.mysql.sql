-- MySQL's form; set.mariadb.sql is MariaDB's. The store installs the one its server needs.
-- Save a session: its data, expiry and owner (`user_id`, NULL for none). With p_existing = 0
-- (a session the store has not seen: a new one) insert it, or replace the row of that id. With
-- p_existing = 1 (a session the store read or wrote before) only update the row while it
-- exists: a save from a request that read the session before a logout deleted it (destroy,
-- destroy_user, clear, or the expiry sweep) must not bring it back. Each branch is one
-- statement, so it is atomic without a transaction.
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
  IN p_user VARCHAR(255) CHARACTER SET {{user_charset}} COLLATE {{user_collation}},
  IN p_existing TINYINT
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: insert or replace a session, or update one only while it exists, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  IF p_existing THEN
    UPDATE `{{table}}` SET `sess` = p_sess, `expired` = p_expired, `user_id` = p_user
    WHERE `{{sid}}` = p_sid;
  ELSE
    INSERT INTO `{{table}}` (`{{sid}}`, `sess`, `expired`, `user_id`)
    VALUES (p_sid, p_sess, p_expired, p_user) AS `{{table}}_new`
    ON DUPLICATE KEY UPDATE `sess` = `{{table}}_new`.`sess`, `expired` = `{{table}}_new`.`expired`,
      `user_id` = `{{table}}_new`.`user_id`;
  END IF;
END
