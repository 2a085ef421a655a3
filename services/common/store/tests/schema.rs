//! The two migration sets describe one logical schema: migrated side by
//! side, PostgreSQL and SQLite have the same tables, the same columns, the
//! same primary keys and the same secondary indexes (unique or not) over the
//! same key columns. Types, index names and dialect features (sequences,
//! triggers, partial-index predicates, covering `INCLUDE` columns) may
//! differ; tables, columns and what is indexed may not, so the sets cannot
//! drift apart unnoticed. The one deliberate difference is listed in
//! [`POSTGRES_ONLY`].

use std::collections::BTreeMap;

use gongkai_store::Pool;

/// A table as both dialects can describe it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// Column names, in declaration order.
    columns: Vec<String>,
    /// Primary-key columns, in key order.
    primary_key: Vec<String>,
    /// Secondary indexes by their key columns, in index order (expression
    /// parts left out), sorted: names differ between the dialects.
    indexes: Vec<Vec<String>>,
}

type Schema = BTreeMap<String, Table>;

/// Tables that are the migrator's own, not gongkai's.
const IGNORED: [&str; 1] = ["_sqlx_migrations"];

/// The deliberate difference: PostgreSQL's change feeds order by the writing
/// transaction's id (xid8), so that a reader never skips a late commit, and
/// key `public_changes` by it; SQLite serializes writers, so position order
/// is commit order (its `public_changes.transaction_id` is kept, not keyed).
/// `(table, column)`: the column, its key part and its indexes exist on
/// PostgreSQL alone where the table is listed here.
const POSTGRES_ONLY: [(&str, &str); 2] = [("events", "transaction_id"), ("public_changes", "transaction_id")];
/// Of those, the ones SQLite has as a plain column.
const SQLITE_HAS_COLUMN: [(&str, &str); 1] = [("public_changes", "transaction_id")];

async fn postgres_schema(pool: &sqlx::PgPool) -> Schema {
    let mut schema = Schema::new();
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    )
    .fetch_all(pool)
    .await
    .expect("columns");
    for (table, column) in columns {
        schema.entry(table).or_default().columns.push(column);
    }
    let keyed: Vec<(String, String, String, bool)> = sqlx::query_as(
        // Key columns only: covering indexes INCLUDE more, which SQLite lacks.
        "SELECT t.relname::text, i.relname::text, a.attname::text, x.indisprimary \
         FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey) \
         WHERE n.nspname = 'public' AND a.attnum > 0 \
           AND array_position(x.indkey::int2[], a.attnum) - array_lower(x.indkey::int2[], 1) < x.indnkeyatts \
         ORDER BY t.relname, i.relname, array_position(x.indkey::int2[], a.attnum)",
    )
    .fetch_all(pool)
    .await
    .expect("indexes");
    let mut indexes: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (table, index, column, primary) in keyed {
        if primary {
            schema.entry(table).or_default().primary_key.push(column);
        } else {
            indexes.entry((table, index)).or_default().push(column);
        }
    }
    for ((table, _), columns) in indexes {
        schema.entry(table).or_default().indexes.push(columns);
    }
    for (name, table) in &mut schema {
        let only: Vec<&str> = POSTGRES_ONLY.iter().filter(|(t, _)| t == name).map(|(_, c)| *c).collect();
        let kept: Vec<&str> = SQLITE_HAS_COLUMN.iter().filter(|(t, _)| t == name).map(|(_, c)| *c).collect();
        table.columns.retain(|c| !only.contains(&c.as_str()) || kept.contains(&c.as_str()));
        table.primary_key.retain(|c| !only.contains(&c.as_str()));
        table.indexes.retain(|index| !index.iter().any(|c| only.contains(&c.as_str())));
        table.indexes.sort();
    }
    schema
}

async fn sqlite_schema(pool: &sqlx::SqlitePool) -> Schema {
    let mut schema = Schema::new();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    for (name,) in tables {
        let mut table = Table::default();
        let columns: Vec<(String, i64)> = sqlx::query_as("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid")
            .bind(&name)
            .fetch_all(pool)
            .await
            .expect("columns");
        let mut key: Vec<(i64, String)> = Vec::new();
        for (column, pk) in columns {
            if pk > 0 {
                key.push((pk, column.clone()));
            }
            table.columns.push(column);
        }
        key.sort();
        table.primary_key = key.into_iter().map(|(_, column)| column).collect();
        let indexes: Vec<(String, String)> = sqlx::query_as("SELECT name, origin FROM pragma_index_list(?1)")
            .bind(&name)
            .fetch_all(pool)
            .await
            .expect("indexes");
        for (index, origin) in indexes {
            // `pk` is the primary key's own index, compared as the key.
            if origin == "pk" {
                continue;
            }
            let parts: Vec<(Option<String>,)> = sqlx::query_as("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                .bind(&index)
                .fetch_all(pool)
                .await
                .expect("index columns");
            table.indexes.push(parts.into_iter().filter_map(|(column,)| column).collect());
        }
        table.indexes.sort();
        schema.insert(name, table);
    }
    schema
}

#[tokio::test]
async fn both_migration_sets_give_one_logical_schema() {
    let postgres = gongkai_testkit::store::postgres().await;
    let sqlite = gongkai_testkit::store::sqlite().await;
    let (Pool::Postgres(pg), Pool::Sqlite(lite)) = (postgres.store.pool(), sqlite.store.pool()) else {
        panic!("one store of each backend")
    };
    let mut pg = postgres_schema(pg).await;
    let mut lite = sqlite_schema(lite).await;
    for ignored in IGNORED {
        pg.remove(ignored);
        lite.remove(ignored);
    }
    assert!(pg.len() >= 10, "the schema was read: {:?}", pg.keys());
    let names = |schema: &Schema| schema.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&pg), names(&lite), "the same tables");
    let mut differences = Vec::new();
    for (name, table) in &pg {
        let other = &lite[name];
        if table.columns != other.columns {
            differences.push(format!("{name} columns: PostgreSQL {:?}, SQLite {:?}", table.columns, other.columns));
        }
        if table.primary_key != other.primary_key {
            differences.push(format!("{name} key: PostgreSQL {:?}, SQLite {:?}", table.primary_key, other.primary_key));
        }
        if table.indexes != other.indexes {
            differences.push(format!("{name} indexed: PostgreSQL {:?}, SQLite {:?}", table.indexes, other.indexes));
        }
    }
    assert!(differences.is_empty(), "the migration sets drifted:\n{}", differences.join("\n"));
}
