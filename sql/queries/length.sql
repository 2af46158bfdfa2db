-- How many sessions are live (a destroyed session's marker is not one). Parameter: now (UTC 'YYYY-MM-DD hh:mm:ss').
SELECT COUNT(*) AS live FROM `{{table}}` WHERE `expired` > ? AND NOT `destroyed`
