-- How many sessions are live. Parameter: now (UTC 'YYYY-MM-DD hh:mm:ss').
SELECT COUNT(*) AS live FROM `{{table}}` WHERE `expired` > ?
