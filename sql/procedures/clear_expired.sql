-- Delete at most p_limit rows that expired at or before p_now, oldest first: expired sessions,
-- and the markers of destroyed ones, which are no longer needed once the session would have
-- expired anyway. The CALL's reply carries how many went (its affected rows). Callers repeat
-- until fewer than p_limit went: small batches keep row locks short and replication events
-- small (Galera certifies each one).
CREATE PROCEDURE `{{table}}_clear_expired_v{{schema_version}}`(
  IN p_now DATETIME,
  IN p_limit INT UNSIGNED
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: delete a batch of expired sessions, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  DELETE FROM `{{table}}` WHERE `expired` <= p_now ORDER BY `expired` LIMIT p_limit;
END
