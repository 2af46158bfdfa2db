-- Schema 2 on a table made before it: the index on the owner column. Built online (reads and
-- writes go on meanwhile), in time proportional to the table's size: on a large table run
-- `npx knex-mysql-session upgrade` before deploying, which shows its progress. On Galera, an ALTER
-- replicates in total order and holds writes cluster-wide while it runs: do it at a quiet time.
ALTER TABLE `{{table}}`
  ADD KEY `{{table}}_user_index` (`user_id`)
