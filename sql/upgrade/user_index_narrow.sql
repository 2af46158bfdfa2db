-- Schema 3 on a table of schema 2: its owner index without `expired`. Schema 2 indexed
-- (`user_id`, `expired`), so every change of a session's expiry (each touch and save) rewrote
-- that index too, even for sessions without an owner; a user's few sessions are sorted by expiry
-- as cheaply after the seek. Rebuilt online (reads and writes go on meanwhile), in time
-- proportional to the table's size: on a large table run `npx knex-mysql-session upgrade` before
-- deploying, which shows its progress. On Galera, an ALTER replicates in total order and holds
-- writes cluster-wide while it runs: do it at a quiet time.
ALTER TABLE `{{table}}`
  DROP KEY `{{table}}_user_index`,
  ADD KEY `{{table}}_user_index` (`user_id`)
