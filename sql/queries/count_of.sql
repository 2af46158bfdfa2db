-- How many live sessions a user has: an index seek on `user_id`. A marker names no
-- owner, unless an app of schema 2 saved over it during a rolling deploy: so it is excluded.
-- Parameters: owner (a user id, or its keyed hash with encryption), now (UTC 'YYYY-MM-DD hh:mm:ss').
SELECT COUNT(*) AS live FROM `{{table}}` WHERE `user_id` = ? AND `expired` > ? AND NOT `destroyed`
