-- Log a user out everywhere: destroy every session owned by p_user (a user id, or its keyed
-- hash with encryption), but the one named p_except (NULL for none: the current session, to
-- keep). The CALL's reply carries how many went (its affected rows). An index seek on `user_id`.
-- The row stays as a marker until the session would have expired (the sweep then deletes it):
-- `destroyed` set, the owner and the data gone. Its `sess` is an expired cookie, so that an app
-- of schema 2 still running during a rolling deploy reads it as a logged-out session.
CREATE PROCEDURE `{{table}}_destroy_user_v{{schema_version}}`(
  IN p_user VARCHAR(255) CHARACTER SET {{user_charset}} COLLATE {{user_collation}},
  IN p_except VARCHAR(255) CHARACTER SET {{sid_charset}} COLLATE {{sid_collation}}
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: destroy a user''s sessions, leaving markers, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  UPDATE `{{table}}`
  SET `sess` = '{"cookie":{"originalMaxAge":0,"expires":"1970-01-01T00:00:00.000Z"}}',
    `user_id` = NULL, `destroyed` = TRUE
  WHERE `user_id` = p_user AND (p_except IS NULL OR `{{sid}}` <> p_except);
END
