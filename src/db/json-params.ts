import { getTableColumns, getTableName, is, SQL, sql, type Column } from 'drizzle-orm';
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
  const columns = Object.entries(getTableColumns(table)) as [string, Column][];
  return JSON.stringify(
    rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const [key, col] of columns) {
        const value = (row as Record<string, unknown>)[key];
        out[col.name] = value !== undefined ? value : col.hasDefault && col.default !== undefined && !is(col.default, SQL) ? col.default : null;
      }
      return out;
    }),
  );
}

/** `column in (...)` with the list as one JSON parameter, for lists of hundreds of values. */
export function inJsonList(column: Column, values: readonly string[]): SQL {
  return sql`${column} in (select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
}
