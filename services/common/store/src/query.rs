//! Statements built at run time, for either backend.
//!
//! [`Sql`] holds SQL text and the values bound into it, in order, and becomes
//! a `sqlx::QueryBuilder` when it runs, which spells every placeholder the
//! backend's way: `$n` on PostgreSQL, `?` on SQLite (bound by position; sqlx
//! looks a numbered SQLite parameter up by name, which makes a statement of
//! thousands of them quadratic to bind). Filters (search, flags, audit, the
//! public project list), lists of project codes and multi-row inserts are
//! built here, as many rows or codes per statement as the bind limit allows;
//! fixed statements are plain `$n` SQL where they run. Nothing here puts
//! input into SQL text: callers push column and table names they fix, and
//! bind every value.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, QueryBuilder, Type};

/// Most bind parameters one statement carries: SQLite allows 32766,
/// PostgreSQL 65535.
pub(crate) const MAX_PARAMS: usize = 32_000;

/// A value bound to an [`Sql`] statement.
#[derive(Debug, Clone)]
pub(crate) enum Value<'a> {
    Text(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
    /// Bytes or NULL.
    MaybeBytes(Option<Cow<'a, [u8]>>),
    Int(i64),
    MaybeInt(Option<i64>),
    Time(DateTime<Utc>),
    Uuid(uuid::Uuid),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(text: &'a str) -> Self {
        Value::Text(Cow::Borrowed(text))
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(text: &'a String) -> Self {
        Value::Text(Cow::Borrowed(text))
    }
}

impl From<String> for Value<'_> {
    fn from(text: String) -> Self {
        Value::Text(Cow::Owned(text))
    }
}

impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Value::Bytes(Cow::Borrowed(bytes))
    }
}

impl<'a> From<&'a Vec<u8>> for Value<'a> {
    fn from(bytes: &'a Vec<u8>) -> Self {
        Value::Bytes(Cow::Borrowed(bytes))
    }
}

impl From<Vec<u8>> for Value<'_> {
    fn from(bytes: Vec<u8>) -> Self {
        Value::Bytes(Cow::Owned(bytes))
    }
}

impl From<i64> for Value<'_> {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}

impl From<Option<i64>> for Value<'_> {
    fn from(value: Option<i64>) -> Self {
        Value::MaybeInt(value)
    }
}

impl From<DateTime<Utc>> for Value<'_> {
    fn from(time: DateTime<Utc>) -> Self {
        Value::Time(time)
    }
}

impl From<uuid::Uuid> for Value<'_> {
    fn from(id: uuid::Uuid) -> Self {
        Value::Uuid(id)
    }
}

impl From<&uuid::Uuid> for Value<'_> {
    fn from(id: &uuid::Uuid) -> Self {
        Value::Uuid(*id)
    }
}

/// A backend whose driver binds every [`Value`]: PostgreSQL and SQLite, by
/// the blanket impl below. Naming this one bound spares the generic code
/// the list of what the backend must encode.
pub(crate) trait Bind: Database<Arguments: IntoArguments<Self>> {
    /// Pushes `value` as the next bind of `builder`.
    fn push_value(builder: &mut QueryBuilder<Self>, value: &Value<'_>);
}

impl<DB> Bind for DB
where
    DB: Database<Arguments: IntoArguments<DB>>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q [u8]>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> uuid::Uuid: Encode<'q, DB> + Type<DB>,
{
    fn push_value(builder: &mut QueryBuilder<DB>, value: &Value<'_>) {
        match value {
            Value::Text(text) => builder.push_bind(text.as_ref()),
            Value::Bytes(bytes) => builder.push_bind(bytes.as_ref()),
            Value::MaybeBytes(bytes) => builder.push_bind(bytes.as_deref()),
            Value::Int(value) => builder.push_bind(*value),
            Value::MaybeInt(value) => builder.push_bind(*value),
            Value::Time(time) => builder.push_bind(*time),
            Value::Uuid(id) => builder.push_bind(*id),
        };
    }
}

#[derive(Debug)]
enum Part<'a> {
    Text(Cow<'a, str>),
    Value(Value<'a>),
}

/// A statement under construction: SQL text and bound values, in order.
#[derive(Debug, Default)]
pub(crate) struct Sql<'a> {
    parts: Vec<Part<'a>>,
    /// Conditions added with [`Sql::and`] so far.
    conditions: usize,
}

impl<'a> Sql<'a> {
    /// A statement starting with `text`.
    pub(crate) fn new(text: impl Into<Cow<'a, str>>) -> Self {
        let mut sql = Sql::default();
        sql.push(text);
        sql
    }

    /// Appends SQL text (column and table names the caller fixes, never input).
    pub(crate) fn push(&mut self, text: impl Into<Cow<'a, str>>) -> &mut Self {
        self.parts.push(Part::Text(text.into()));
        self
    }

    /// Appends a placeholder bound to `value`.
    pub(crate) fn bind(&mut self, value: impl Into<Value<'a>>) -> &mut Self {
        self.parts.push(Part::Value(value.into()));
        self
    }

    /// Appends `values` as placeholders separated by commas.
    pub(crate) fn list<V: Into<Value<'a>>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        for (at, value) in values.into_iter().enumerate() {
            if at > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self
    }

    /// Starts the next condition of the WHERE clause: ` WHERE ` before the
    /// first, ` AND ` before every other.
    pub(crate) fn and(&mut self) -> &mut Self {
        self.conditions += 1;
        self.push(if self.conditions == 1 { " WHERE " } else { " AND " })
    }

    /// Appends `other`'s text and values (its WHERE clause stays its own).
    pub(crate) fn append(&mut self, other: Sql<'a>) -> &mut Self {
        self.parts.extend(other.parts);
        self
    }

    /// `column LIKE '<prefix>%'` for any of `prefixes`, in parentheses;
    /// `FALSE` when there are none.
    pub(crate) fn like_any_prefix(&mut self, column: &str, prefixes: &[String]) -> &mut Self {
        if prefixes.is_empty() {
            return self.push("FALSE");
        }
        self.push("(");
        for (at, prefix) in prefixes.iter().enumerate() {
            if at > 0 {
                self.push(" OR ");
            }
            self.push(format!("{column} LIKE ")).bind(format!("{}%", escape_like(prefix))).push(" ESCAPE '\\'");
        }
        self.push(")")
    }

    /// `column LIKE '%<needle>%'`, the needle matched literally.
    pub(crate) fn like_contains(&mut self, column: &str, needle: &str) -> &mut Self {
        self.push(format!("{column} LIKE ")).bind(format!("%{}%", escape_like(needle))).push(" ESCAPE '\\'")
    }

    /// The statement as a `sqlx::QueryBuilder` of backend `DB`.
    pub(crate) fn builder<DB: Bind>(&self) -> QueryBuilder<DB> {
        let mut builder = QueryBuilder::new("");
        for part in &self.parts {
            match part {
                Part::Text(text) => {
                    builder.push(text);
                }
                Part::Value(value) => DB::push_value(&mut builder, value),
            }
        }
        builder
    }

    /// Runs the statement on `executor` (a pool or a transaction).
    ///
    /// A boxed `Send` future rather than an `async fn`: the compiler proves
    /// it `Send` here, once for every executor, where an `async fn` generic
    /// over `Executor<'e>` leaves callers unable to prove their own futures
    /// `Send` for every lifetime.
    pub(crate) fn execute<'e, E>(&'e self, executor: E) -> Running<'e, <E::Database as Database>::QueryResult>
    where
        E: 'e + Executor<'e, Database: Bind>,
    {
        let mut builder = self.builder::<E::Database>();
        Box::pin(async move { builder.build().execute(executor).await })
    }

    /// Runs the query on `executor` and collects its rows (see
    /// [`Sql::execute`] for why the future is boxed).
    pub(crate) fn fetch_all<'e, R, E>(&'e self, executor: E) -> Running<'e, Vec<R>>
    where
        E: 'e + Executor<'e, Database: Bind>,
        R: 'e + for<'r> FromRow<'r, <E::Database as Database>::Row> + Send + Unpin,
    {
        let mut builder = self.builder::<E::Database>();
        Box::pin(async move { builder.build_query_as().fetch_all(executor).await })
    }
}

/// A statement running: what [`Sql::execute`] and [`Sql::fetch_all`] return.
pub(crate) type Running<'e, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'e>>;

/// `head VALUES (…), (…) tail` over `rows`, as many rows per statement as
/// the bind limit allows, each row's values from `row`: multi-row
/// statements instead of a round trip per row are what makes a rebuild fast.
pub(crate) fn insert<'a, 'r, R, const N: usize>(
    head: &str,
    tail: &str,
    rows: &'r [R],
    row: impl Fn(&'r R) -> [Value<'a>; N],
) -> Vec<Sql<'a>> {
    rows.chunks(MAX_PARAMS / N)
        .map(|part| {
            let mut sql = Sql::new(format!("{head} VALUES "));
            for (at, values) in part.iter().enumerate() {
                sql.push(if at == 0 { "(" } else { ", (" }).list(row(values)).push(")");
            }
            sql.push(format!(" {tail}"));
            sql
        })
        .collect()
}

/// `head v1, v2, … tail` once per slice of `values` that fits the bind
/// limit: `head` ends in `IN (` and `tail` starts with `)`. Empty `values`
/// give no statement at all.
pub(crate) fn in_list<'a, V: Clone + Into<Value<'a>>>(head: &str, values: &[V], tail: &str) -> Vec<Sql<'a>> {
    values
        .chunks(MAX_PARAMS)
        .map(|part| {
            let mut sql = Sql::new(head.to_owned());
            sql.list(part.iter().cloned()).push(tail.to_owned());
            sql
        })
        .collect()
}

/// `text` with the LIKE wildcards (and the escape character `\`) escaped,
/// for a pattern that matches it literally.
pub(crate) fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(sql: &Sql<'_>) -> String {
        sql.builder::<sqlx::Postgres>().sql().as_str().to_owned()
    }

    #[test]
    fn placeholders_follow_the_binds() {
        let mut sql = Sql::new("SELECT x FROM t");
        sql.and().push("a = ").bind(1_i64);
        sql.and().push("b IN (").list(["p", "q"]).push(")");
        assert_eq!(text(&sql), "SELECT x FROM t WHERE a = $1 AND b IN ($2, $3)");
        assert_eq!(sql.builder::<sqlx::Sqlite>().sql().as_str(), "SELECT x FROM t WHERE a = ? AND b IN (?, ?)");
    }

    #[test]
    fn inserts_split_at_the_bind_limit() {
        let rows: Vec<i64> = (0..(MAX_PARAMS as i64 / 2 + 1)).collect();
        let statements =
            insert("INSERT INTO t (a, b)", "ON CONFLICT DO NOTHING", &rows, |row| [(*row).into(), 0_i64.into()]);
        assert_eq!(statements.len(), 2);
        let last = text(&statements[1]);
        assert_eq!(last, "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING");
        assert!(in_list::<&str>("SELECT 1 WHERE x IN (", &[], ")").is_empty());
    }

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
        let mut sql = Sql::new("SELECT 1");
        sql.and().like_any_prefix("region_code", &[]);
        assert_eq!(text(&sql), "SELECT 1 WHERE FALSE");
    }
}
