import { getTableColumns, getTableName, is, Placeholder, SQL, sql, type Column } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/**
 * `select * from jsonb_populate_recordset(<base row>, $2::jsonb)`: the rows of a bulk insert as JSON
 * parameters (`db.insert(t).select(jsonRows(t, rows))`) instead of one parameter per value. A value every
 * row shares (a fan-out page's status, event, state and time, and every default) goes once, in the base
 * row, which fills the columns a row's object leaves out; each row's object carries only what differs.
 * That made a 1,000-row fan-out page's JSON about a third as long (docs/benchmarks.md).
 */
export function jsonRows<T extends PgTable>(table: T, rows: readonly T['$inferInsert'][]): SQL {
  const { shared, each } = asJsonRows(table, rows);
  return sql`select * from jsonb_populate_recordset(jsonb_populate_record(null::${sql.identifier(getTableName(table))}, ${shared}::jsonb), ${each}::jsonb)`;
}

/**
 * The JSON for jsonRows, keyed by column name: `shared` has every column whose value is the same
 * (`===`) in all rows, `each` the others, row by row. Every column is present in one or the other (a
 * column in neither would be NULL, not its default, so plain defaults are filled in here; SQL defaults
 * such as now() must be given).
 */
function asJsonRows<T extends PgTable>(table: T, rows: readonly T['$inferInsert'][]): { shared: string; each: string } {
  const valueOf = (row: T['$inferInsert'], [key, , fallback]: ColumnEntry) => {
    const value = (row as Record<string, unknown>)[key];
    return value !== undefined ? value : fallback;
  };
  const shared: Record<string, unknown> = {};
  const varying: ColumnEntry[] = [];
  for (const column of columnsOf(table)) {
    const first = rows.length ? valueOf(rows[0]!, column) : null;
    if (rows.every((row) => valueOf(row, column) === first)) shared[column[1]] = first;
    else varying.push(column);
  }
  const each = rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const column of varying) out[column[1]] = valueOf(row, column);
    return out;
  });
  return { shared: JSON.stringify(shared), each: JSON.stringify(each) };
}

/** [property, column name, value when the row leaves it out]. */
type ColumnEntry = [string, string, unknown];

/** Each table's column entries, worked out once. */
const columnCache = new WeakMap<PgTable, ColumnEntry[]>();
function columnsOf(table: PgTable): ColumnEntry[] {
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
