-- Delete every session, and return how many went (one row, column `deleted`). DELETE rather
-- than TRUNCATE: TRUNCATE is DDL (it needs the DROP privilege, commits implicitly and takes a
-- metadata lock that blocks concurrent readers).
CREATE PROCEDURE `{{table}}_clear_v{{schema_version}}`()
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: delete every session, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  DELETE FROM `{{table}}`;
  SELECT ROW_COUNT() AS deleted;
END
