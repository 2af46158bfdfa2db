-- Push back the expiry of a live session. An expired session stays expired (a touch racing
-- with expiry must not bring it back), and so does a destroyed one's marker. An expiry is never
-- brought forward: a touch that arrives after a later one (a slow request, another app
-- instance) leaves the later expiry, as touch_many does for the touches it makes at once.
CREATE PROCEDURE `{{table}}_touch_v{{schema_version}}`(
  IN p_sid VARCHAR(255) CHARACTER SET {{sid_charset}} COLLATE {{sid_collation}},
  IN p_expired DATETIME,
  IN p_now DATETIME
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: extend the expiry of a live session, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  UPDATE `{{table}}` SET `expired` = GREATEST(`expired`, p_expired)
  WHERE `{{sid}}` = p_sid AND `expired` > p_now AND NOT `destroyed`;
END
