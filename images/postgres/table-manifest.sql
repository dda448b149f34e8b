-- One line per user table: schema.table|rows|md5 of its rows in a stable order. Written beside every
-- base backup and computed again on the restored copy by the drill; equal lines mean equal tables.
-- Run with: psql -X -At -v ON_ERROR_STOP=1 -f table-manifest.sql
SELECT format(
  'SELECT %L || ''|'' || count(*) || ''|'' || coalesce(md5(string_agg(md5(t::text), '''' ORDER BY md5(t::text))), md5('''')) FROM %I.%I t',
  schemaname || '.' || tablename, schemaname, tablename)
FROM pg_tables
WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
  AND schemaname NOT LIKE 'pg\_temp%'
ORDER BY schemaname, tablename
\gexec
