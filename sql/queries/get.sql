-- One live session, its expiry in whole seconds since 1970-01-01 UTC and its owner (`user_id`: a
-- sealed session opens only with the owner it was sealed for). TIMESTAMPDIFF on a
-- DATETIME ignores time_zone, where UNIX_TIMESTAMP() would convert through it.
-- Parameters: sid, now (UTC 'YYYY-MM-DD hh:mm:ss').
SELECT `sess`, TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', `expired`) AS expires_at,
  `user_id` AS owner
FROM `{{table}}`
WHERE `{{sid}}` = ? AND `expired` > ? AND NOT `destroyed`
