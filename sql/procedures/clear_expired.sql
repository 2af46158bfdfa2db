-- Delete at most p_limit sessions that expired at or before p_now, oldest first, and return
-- how many went (one row, column `deleted`). Callers repeat until `deleted` < p_limit: small
-- batches keep row locks short and replication events small (Galera certifies each one).
CREATE PROCEDURE `{{table}}_clear_expired_v{{schema_version}}`(
  IN p_now DATETIME,
  IN p_limit INT UNSIGNED
)
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: delete a batch of expired sessions, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  DELETE FROM `{{table}}` WHERE `expired` <= p_now ORDER BY `expired` LIMIT p_limit;
  SELECT ROW_COUNT() AS deleted;
END
