-- Save many sessions in one call: p_sets is a JSON array of [sid, sess, expired, user]
-- quadruples (sess the session's JSON document itself, not a string holding it; expired in
-- UTC, 'YYYY-MM-DD hh:mm:ss'; user NULL for none), each sid at most once. As set does for one:
-- insert each, or replace the row of that id, unless the row is a destroyed session's marker,
-- which stays as it is. One statement, so each row's lock orders it with a concurrent destroy.
-- The same text on MySQL and MariaDB: the update names the new row's values by the JSON_TABLE's
-- alias, which neither server deprecates (MySQL warns on VALUES(), MariaDB has no row alias),
-- and p_sets is named once (MariaDB copies a routine parameter into each use of it).
-- The sid and user columns of the JSON_TABLE carry the table's own character set and collation,
-- so that the two compare without an "Illegal mix of collations" (or a server default) deciding.
CREATE PROCEDURE `{{table}}_set_many_v{{schema_version}}`(
  IN p_sets JSON
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: insert or replace many sessions unless destroyed, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  INSERT INTO `{{table}}` (`{{sid}}`, `sess`, `expired`, `user_id`)
  SELECT `{{table}}_sets`.`sid`, `{{table}}_sets`.`sess`, `{{table}}_sets`.`expired`,
    `{{table}}_sets`.`user_id`
  FROM JSON_TABLE(p_sets, '$[*]' COLUMNS (
    `sid` VARCHAR(255) CHARACTER SET {{sid_charset}} COLLATE {{sid_collation}} PATH '$[0]' ERROR ON ERROR,
    `sess` JSON PATH '$[1]' ERROR ON ERROR,
    `expired` DATETIME PATH '$[2]' ERROR ON ERROR,
    `user_id` VARCHAR(255) CHARACTER SET {{user_charset}} COLLATE {{user_collation}} PATH '$[3]' ERROR ON ERROR
  )) AS `{{table}}_sets`
  ON DUPLICATE KEY UPDATE
    `sess` = IF(`{{table}}`.`destroyed`, `{{table}}`.`sess`, `{{table}}_sets`.`sess`),
    `expired` = IF(`{{table}}`.`destroyed`, `{{table}}`.`expired`, `{{table}}_sets`.`expired`),
    `user_id` = IF(`{{table}}`.`destroyed`, `{{table}}`.`user_id`, `{{table}}_sets`.`user_id`);
END
