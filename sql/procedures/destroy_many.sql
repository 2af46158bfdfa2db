-- Destroy many sessions in one call: p_sids is a JSON array of ids, each at most once. As destroy
-- does for one, each row that holds a session becomes a marker; ids without one are left alone.
-- Its one result set names the ids that held a session, so that each caller learns what destroy
-- would have answered it (a CALL's count covers the whole call). The SELECT locks the rows it
-- names until the UPDATE has marked them, in one transaction: no other call can mark them in
-- between and answer the same id. On any error the transaction is rolled back before the error
-- reaches the caller (the handler), so none stays open on the connection.
-- The ids are a derived table: MySQL refuses FOR UPDATE on a JSON_TABLE named in the query
-- itself, MariaDB knows no FOR UPDATE OF; both then find each row by the primary key (EXPLAIN).
-- The JSON_TABLE sid column carries the column's own character set and collation, and is one
-- character longer than the column, so that a longer id matches nothing instead of being cut.
CREATE PROCEDURE `{{table}}_destroy_many_v{{schema_version}}`(
  IN p_sids JSON
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: destroy many sessions, leaving markers, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;
  START TRANSACTION;
  SELECT `{{table}}`.`{{sid}}` AS `sid`
  FROM (SELECT `sid` FROM JSON_TABLE(p_sids, '$[*]' COLUMNS (
    `sid` VARCHAR(256) CHARACTER SET {{sid_charset}} COLLATE {{sid_collation}} PATH '$' ERROR ON ERROR
  )) AS `{{table}}_ids`) AS `{{table}}_ends`
  JOIN `{{table}}` ON `{{table}}`.`{{sid}}` = `{{table}}_ends`.`sid`
  WHERE NOT `{{table}}`.`destroyed`
  FOR UPDATE;
  UPDATE `{{table}}` JOIN JSON_TABLE(p_sids, '$[*]' COLUMNS (
    `sid` VARCHAR(256) CHARACTER SET {{sid_charset}} COLLATE {{sid_collation}} PATH '$' ERROR ON ERROR
  )) AS `{{table}}_ends` ON `{{table}}`.`{{sid}}` = `{{table}}_ends`.`sid`
  SET `{{table}}`.`sess` = '{"cookie":{"originalMaxAge":0,"expires":"1970-01-01T00:00:00.000Z"}}',
    `{{table}}`.`user_id` = NULL, `{{table}}`.`destroyed` = TRUE
  WHERE NOT `{{table}}`.`destroyed`;
  COMMIT;
END
