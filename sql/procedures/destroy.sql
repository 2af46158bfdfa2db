-- Delete one session, and return whether it was there (one row, column `deleted`: 1 or 0).
-- Deleting a session that does not exist is not an error.
CREATE PROCEDURE `{{table}}_destroy_v{{schema_version}}`(
  IN p_sid VARCHAR(255) CHARACTER SET {{sid_charset}} COLLATE {{sid_collation}}
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: delete a session, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  DELETE FROM `{{table}}` WHERE `{{sid}}` = p_sid;
  SELECT ROW_COUNT() AS deleted;
END
