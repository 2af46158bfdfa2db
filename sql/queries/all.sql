-- Every live session with its id. Parameter: now (UTC 'YYYY-MM-DD hh:mm:ss').
SELECT `{{sid}}` AS sid, `sess` FROM `{{table}}` WHERE `expired` > ?
