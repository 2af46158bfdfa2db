-- Every live session with its id and expiry (seconds since the epoch). Parameter: now (UTC 'YYYY-MM-DD hh:mm:ss').
SELECT `{{sid}}` AS sid, `sess`, TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', `expired`) AS expires_at,
  `user_id` AS owner
FROM `{{table}}`
WHERE `expired` > ? AND NOT `destroyed`
