-- Log a user out everywhere: delete every session owned by p_user (a user id, or its keyed hash
-- with encryption), but the one named p_except (NULL for none: the current session, to keep),
-- and return how many went (one row, column `deleted`). An index seek on `user_id`.
CREATE PROCEDURE `{{table}}_destroy_user_v{{schema_version}}`(
  IN p_user VARCHAR(255) CHARACTER SET {{user_charset}} COLLATE {{user_collation}},
  IN p_except VARCHAR(255) CHARACTER SET {{sid_charset}} COLLATE {{sid_collation}}
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: delete a user''s sessions, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  DELETE FROM `{{table}}`
  WHERE `user_id` = p_user AND (p_except IS NULL OR `{{sid}}` <> p_except);
  SELECT ROW_COUNT() AS deleted;
END
