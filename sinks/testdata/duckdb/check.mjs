// Cross-check of nblast-go's Parquet outputs with DuckDB (run by the Go
// tests in sinks/, e.g. TestDuckDBReadsSparse).
//
//   node check.mjs 'OUT/part-*.parquet' [--rows]
//
// prints one JSON object: the row count, the sum/min/max of score, the
// number of repeated (query, target) pairs, the min/max ids, the column
// types DuckDB sees and, with --rows, every row as [query, target, score]
// (ids as text so int64 ids above 2^53 stay exact; score as DOUBLE).
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
const pattern = args.find((a) => !a.startsWith('--'));
if (!pattern) {
  console.error("usage: node check.mjs 'OUT/part-*.parquet' [--rows]");
  process.exit(2);
}
const src = `read_parquet('${pattern.replaceAll("'", "''")}')`;

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const query = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson();

const types = {};
for (const r of await query(`DESCRIBE SELECT * FROM ${src}`)) {
  types[r.column_name] = r.column_type;
}
const [agg] = await query(`
  SELECT count(*)::BIGINT::VARCHAR AS count,
         sum(score::DOUBLE) AS sum,
         min(score)::DOUBLE AS min,
         max(score)::DOUBLE AS max,
         (count(*) - count(DISTINCT (query, target)))::BIGINT::VARCHAR AS duplicates,
         min(query)::VARCHAR AS query_min,
         max(query)::VARCHAR AS query_max,
         min(target)::VARCHAR AS target_min,
         max(target)::VARCHAR AS target_max
  FROM ${src}`);
const out = {
  version: (await query('SELECT version() AS v'))[0].v,
  count: Number(agg.count),
  sum: agg.sum,
  min: agg.min,
  max: agg.max,
  duplicates: Number(agg.duplicates),
  query_min: agg.query_min,
  query_max: agg.query_max,
  target_min: agg.target_min,
  target_max: agg.target_max,
  types,
};
if (args.includes('--rows')) {
  out.rows = (await query(`SELECT query::VARCHAR AS q, target::VARCHAR AS t, score::DOUBLE AS s FROM ${src} ORDER BY ALL`))
    .map((r) => [r.q, r.t, r.s]);
}
console.log(JSON.stringify(out));
