-- Push back the expiry of many live sessions in one call. p_touches is a JSON array of
-- [sid, expired, now] triples (times in UTC, 'YYYY-MM-DD hh:mm:ss'), each sid at most once. As
-- touch does for one, an expired session stays expired, and so does a destroyed one's marker;
-- an expiry is never brought forward. The CALL's reply carries how many rows changed (its
-- affected rows). One statement: each item finds its row by an index seek on the primary key.
-- The JSON_TABLE sid column carries the column's own character set and collation, so that the
-- two compare without an "Illegal mix of collations" (or a server default) deciding. It is one
-- character longer than the column: a longer sid is then no id at all, where MariaDB would
-- truncate it to 255 characters, with only a warning, and touch the session of that prefix.
CREATE PROCEDURE `{{table}}_touch_many_v{{schema_version}}`(
  IN p_touches JSON
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: extend the expiry of many live sessions, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  UPDATE `{{table}}` JOIN JSON_TABLE(p_touches, '$[*]' COLUMNS (
    `sid` VARCHAR(256) CHARACTER SET {{sid_charset}} COLLATE {{sid_collation}} PATH '$[0]' ERROR ON ERROR,
    `expired` DATETIME PATH '$[1]' ERROR ON ERROR,
    `now` DATETIME PATH '$[2]' ERROR ON ERROR
  )) AS `{{table}}_touches` ON `{{table}}`.`{{sid}}` = `{{table}}_touches`.`sid`
  SET `{{table}}`.`expired` = GREATEST(`{{table}}`.`expired`, `{{table}}_touches`.`expired`)
  WHERE `{{table}}`.`expired` > `{{table}}_touches`.`now` AND NOT `{{table}}`.`destroyed`;
END
