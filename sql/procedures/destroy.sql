-- Destroy one session. The CALL's reply carries how many rows changed (1 when a session was
-- there, 0 otherwise: a CALL's OK packet holds the affected rows of its last statement on MySQL
-- and MariaDB), so no result set is sent. Destroying a session that does not exist is not an
-- error, and leaves no marker: no request can have read it.
-- The row stays as a marker until the session would have expired (the sweep then deletes it):
-- `destroyed` set, the owner and the data gone. Its `sess` is an expired cookie, so that an app
-- of schema 2 still running during a rolling deploy reads it as a logged-out session.
CREATE PROCEDURE `{{table}}_destroy_v{{schema_version}}`(
  IN p_sid VARCHAR(255) CHARACTER SET {{sid_charset}} COLLATE {{sid_collation}}
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: destroy a session, leaving a marker, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  UPDATE `{{table}}`
  SET `sess` = '{"cookie":{"originalMaxAge":0,"expires":"1970-01-01T00:00:00.000Z"}}',
    `user_id` = NULL, `destroyed` = TRUE
  WHERE `{{sid}}` = p_sid AND NOT `destroyed`;
END
