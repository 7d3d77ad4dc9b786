/** Column shapes the migrations share. */
import type { ColumnDefinitionBuilder } from 'kysely';

/**
 * An auto-incrementing integer primary key on `dialect`: `bigserial` on PostgreSQL, SQLite's
 * `integer primary key autoincrement` (ids never reused) — its column type and its definition.
 */
export function autoIncrementId(dialect: 'sqlite' | 'postgres'): {
  type: 'bigserial' | 'integer';
  define: (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
} {
  return {
    type: dialect === 'postgres' ? 'bigserial' : 'integer',
    define: (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()),
  };
}
