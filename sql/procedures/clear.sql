-- Delete every session and every marker: a reset, not a log-out (a request under way that read
-- its session before may save it again; destroyUser logs users out for good). Returns how many
-- sessions went, expired ones included (one row, column `deleted`): the markers go first, and
-- are not counted. A result set, not the CALL's OK packet: MariaDB's adds up the affected rows
-- of every statement of the procedure. DELETE rather than TRUNCATE: TRUNCATE is DDL (it
-- needs the DROP privilege, commits implicitly and takes a metadata lock that blocks concurrent
-- readers).
CREATE PROCEDURE `{{table}}_clear_v{{schema_version}}`()
  MODIFIES SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'knex-mysql-session schema {{schema_version}}: delete every session, for `{{table}}`.`{{sid}}` {{sid_collation}}'
BEGIN
  DELETE FROM `{{table}}` WHERE `destroyed`;
  DELETE FROM `{{table}}`;
  SELECT ROW_COUNT() AS deleted;
END
