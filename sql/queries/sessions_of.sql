-- A user's live sessions (owner = a user id, or its keyed hash with encryption), with their ids
-- and expiry in whole seconds since 1970-01-01 UTC, newest expiry first: an index seek on
-- `user_id`. Parameters: owner, now (UTC 'YYYY-MM-DD hh:mm:ss').
SELECT `{{sid}}` AS sid, `sess`, TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', `expired`) AS expires_at,
  `user_id` AS owner
FROM `{{table}}`
WHERE `user_id` = ? AND `expired` > ? AND NOT `destroyed`
ORDER BY `expired` DESC
