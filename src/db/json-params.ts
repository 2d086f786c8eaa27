import { getTableColumns, getTableName, is, Placeholder, SQL, sql, type Column } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/**
 * `select * from jsonb_populate_recordset(null::<table>, $1::jsonb)`: the rows of a bulk insert as one
 * JSON parameter (`db.insert(t).select(jsonRows(t, rows))`) instead of one parameter per value.
 */
export function jsonRows<T extends PgTable>(table: T, rows: readonly T['$inferInsert'][]): SQL {
  return sql`select * from jsonb_populate_recordset(null::${sql.identifier(getTableName(table))}, ${asJsonRows(table, rows)}::jsonb)`;
}

/**
 * The JSON for jsonRows: keyed by column name, every column present (a missing key would insert NULL,
 * not the column's default, so plain defaults are filled in here; SQL defaults such as now() must be given).
 */
function asJsonRows<T extends PgTable>(table: T, rows: readonly T['$inferInsert'][]): string {
  const columns = columnsOf(table);
  return JSON.stringify(
    rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const [key, name, fallback] of columns) {
        const value = (row as Record<string, unknown>)[key];
        out[name] = value !== undefined ? value : fallback;
      }
      return out;
    }),
  );
}

/** Per table, once: [property, column name, value when the row leaves it out]. */
const columnCache = new WeakMap<PgTable, [string, string, unknown][]>();
function columnsOf(table: PgTable): [string, string, unknown][] {
  let list = columnCache.get(table);
  if (!list) {
    list = (Object.entries(getTableColumns(table)) as [string, Column][]).map(([key, col]) => [
      key,
      col.name,
      col.hasDefault && col.default !== undefined && !is(col.default, SQL) ? col.default : null,
    ]);
    columnCache.set(table, list);
  }
  return list;
}

/**
 * `column = any(...)` with the list as one JSON parameter, for lists of hundreds of values: `values`,
 * or `sql.placeholder(name)` in a prepared statement (then pass JSON.stringify(list)). As `= any(array(...))`
 * the list is an array the index is probed with, whatever the table's size: the planner cannot size a
 * JSON list, and as `in (select ...)` it chose a scan of the whole table for a batch of 100 endpoints
 * among 10,000 (3 ms instead of 0.3 ms; docs/benchmarks.md).
 */
export function inJsonList(column: Column, values: readonly string[] | Placeholder): SQL {
  const list = values instanceof Placeholder ? values : JSON.stringify(values);
  return sql`${column} = any(array(select jsonb_array_elements_text(${list}::jsonb)))`;
}
