-- The live sessions among several ids: one statement for the gets that wait for a connection at
-- the same moment (each caller takes its own row; an id without one is no session). `sids` is a
-- list of placeholders, one per id; the columns are get's, with the id.
-- Parameters: sid, sid, …, now (UTC 'YYYY-MM-DD hh:mm:ss').
SELECT `{{sid}}` AS sid, `sess`, TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', `expired`) AS expires_at,
  `user_id` AS owner
FROM `{{table}}`
WHERE `{{sid}}` IN ({{sids}}) AND `expired` > ? AND NOT `destroyed`
