//! Publishing into a database table, written once for every SQL store.
//!
//! A store loads its rows into a staging table of its own (`<table>__hygge_<run id>`),
//! however its database loads fastest; this layer does the rest:
//!
//! - the writer lock, taken before anything is touched, so a concurrent run's staging is
//!   never mistaken for a crashed one's, and publishes never interleave;
//! - cleanup of staging and retired tables left by crashed runs;
//! - one publish transaction: `replace` (swap the staging table in), `append`, `truncate`,
//!   or `merge` on key columns (delete the rows whose key the staging table holds, then
//!   insert it), together with the entity's watermark row in the state table
//!   (`hygge_state`), after checking that row is still the one the run started from;
//! - dropping what the publish left over.
//!
//! A store supplies only its [`SqlDialect`] (the statements) and a [`SqlDatabase`]
//! (connections and the lock).

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::sql_state::{
    STATE_TABLE, ensure_state_table, read_state, state_statements, state_table_columns,
};
use crate::contract::{ConnectorError, ConnectorResult};
use crate::state::{EntityState, StateUpdate, unchanged};

/// Where staging table names begin after the target's name.
const STAGING_MARK: &str = "__hygge_";
/// Where a replaced table waits to be dropped: `<table>__hygge_old_<run id>`.
const RETIRED_MARK: &str = "__hygge_old_";

/// A table in a schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SqlTable {
    /// The schema.
    pub schema: String,
    /// The table.
    pub table: String,
}

impl SqlTable {
    /// `schema`.`table`.
    pub fn new(schema: impl Into<String>, table: impl Into<String>) -> SqlTable {
        SqlTable {
            schema: schema.into(),
            table: table.into(),
        }
    }

    /// A table beside this one, in the same schema.
    pub fn sibling(&self, table: impl Into<String>) -> SqlTable {
        SqlTable::new(self.schema.clone(), table)
    }

    /// This run's staging table for this target.
    pub fn staging(&self, run_id: &str) -> SqlTable {
        self.sibling(format!("{}{STAGING_MARK}{run_id}", self.table))
    }

    /// Where this target goes while a `replace` swaps the staging table in.
    pub fn retired(&self, run_id: &str) -> SqlTable {
        self.sibling(format!("{}{RETIRED_MARK}{run_id}", self.table))
    }

    /// Whether `name` (a table of the same schema) is a staging or retired table of this
    /// target. Under the writer lock every such table is a leftover: of a crashed run, or
    /// of an earlier attempt of this run.
    pub fn is_leftover(&self, name: &str) -> bool {
        name.strip_prefix(&self.table)
            .and_then(|rest| rest.strip_prefix(STAGING_MARK))
            .is_some_and(|run| !run.strip_prefix("old_").unwrap_or(run).is_empty())
    }
}

impl fmt::Display for SqlTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

/// `"name"`, with `"` doubled: standard SQL's quoted identifier.
pub fn standard_quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'`, with `'` doubled: standard SQL's text literal (backslashes are plain).
pub fn standard_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The statements of one database's SQL. Every identifier and literal that reaches SQL
/// text goes through [`SqlDialect::quote`] and [`SqlDialect::literal`]. The defaults are
/// standard SQL.
pub trait SqlDialect: Send + Sync {
    /// An identifier, quoted.
    fn quote(&self, name: &str) -> String {
        standard_quote(name)
    }
    /// A text literal.
    fn literal(&self, text: &str) -> String {
        standard_literal(text)
    }
    /// `schema.table`, quoted.
    fn qualified(&self, table: &SqlTable) -> String {
        format!("{}.{}", self.quote(&table.schema), self.quote(&table.table))
    }
    /// Opens the publish transaction (and makes any error roll it back).
    fn begin(&self) -> String;
    /// Commits it.
    fn commit(&self) -> String {
        "COMMIT;".into()
    }
    /// Renames `table` to `name`, in its schema.
    fn rename(&self, table: &SqlTable, name: &str) -> String {
        format!(
            "ALTER TABLE {} RENAME TO {};",
            self.qualified(table),
            self.quote(name)
        )
    }
    /// Drops `table` if it exists.
    fn drop_if_exists(&self, table: &SqlTable) -> String {
        format!("DROP TABLE IF EXISTS {}", self.qualified(table))
    }
    /// Empties `table`.
    fn truncate(&self, table: &SqlTable) -> String {
        format!("TRUNCATE TABLE {}", self.qualified(table))
    }
    /// A text column type for the state table (unbounded, or long enough for any value).
    fn text_type(&self) -> &'static str;
    /// A text column type for names and identifiers (up to 256 characters).
    fn key_type(&self) -> &'static str;
    /// Creates the state table `table` when it does not exist.
    fn create_state_table(&self, table: &SqlTable) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            self.qualified(table),
            state_table_columns(self)
        )
    }
    /// A query for the names of the tables of `schema` (one text column).
    fn list_tables(&self, schema: &str) -> String {
        format!(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = {}",
            self.literal(schema)
        )
    }
    /// Whether each statement group of a publish must go to the server as a batch of its
    /// own (SQL Server compiles a batch whole, so an INSERT naming a column added by an
    /// ALTER must come in a later batch).
    fn separate_batches(&self) -> bool {
        false
    }
    /// Whether the database takes one statement per call (drivers reached through ADBC
    /// prepare a single statement); the publish then runs its statements one by one, on
    /// one connection, between the dialect's `begin` and `commit`.
    fn one_statement_per_call(&self) -> bool {
        false
    }
}

/// `statements` as the calls `dialect` takes them: one call each when it runs single
/// statements, else one call for all.
pub fn statement_calls(dialect: &dyn SqlDialect, statements: Vec<String>) -> Vec<String> {
    if dialect.one_statement_per_call() {
        statements
    } else {
        vec![statements.join(" ")]
    }
}

/// A connection of a SQL store, running statements for this layer.
#[async_trait]
pub trait SqlConnection: Send {
    /// Runs statements that return no rows.
    async fn execute(&mut self, sql: &str) -> ConnectorResult<()>;
    /// Runs a query whose columns are all text (NULL as `None`).
    async fn query_text(&mut self, sql: &str) -> ConnectorResult<Vec<Vec<Option<String>>>>;
    /// Marks the connection unusable after a failed publish, so the server rolls back.
    fn discard(&mut self) {}
}

/// A database a SQL store writes to: its dialect, connections, and the writer lock.
#[async_trait]
pub trait SqlDatabase: Send + Sync {
    /// Its SQL.
    fn dialect(&self) -> &dyn SqlDialect;
    /// A connection.
    async fn connect(&self) -> ConnectorResult<Box<dyn SqlConnection>>;
    /// Takes the writer lock of `table`, waiting for another run that holds it; released
    /// when the returned guard is dropped (and by the server if the process dies).
    async fn lock(&self, table: &SqlTable) -> ConnectorResult<Box<dyn Any + Send>>;
    /// Creates `schema` unless it exists.
    async fn ensure_schema(&self, schema: &str) -> ConnectorResult<()>;
}

/// How the staged rows reach the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlPublish {
    /// The staging table becomes the target (it does not exist yet).
    Rename,
    /// The staging table replaces the existing target.
    Swap,
    /// The staged rows are inserted into the existing target (after emptying it when
    /// `truncate`).
    Insert {
        /// Empty the target first.
        truncate: bool,
    },
    /// Rows whose key columns match a staged row are replaced; the others are inserted.
    Merge {
        /// The key columns.
        keys: Vec<String>,
    },
}

impl SqlPublish {
    /// Whether committing replaces the rows already in the target.
    pub fn replaces_rows(&self) -> bool {
        matches!(
            self,
            SqlPublish::Swap | SqlPublish::Insert { truncate: true }
        )
    }
}

/// What one publish moves: the staged columns, and the ones it adds to the target first.
#[derive(Debug, Clone, Default)]
pub struct PublishColumns {
    /// The columns inserted, by name.
    pub names: Vec<String>,
    /// `ALTER TABLE … ADD` column definitions (`[name] TYPE NULL`) for columns the target
    /// lacks (`on_schema_change: evolve`).
    pub added: Vec<String>,
    /// Of the staged rows with one key, keep only those with the greatest value of a
    /// column (a merge of a source holding several versions of a row).
    pub keep_newest: Option<KeepNewest>,
}

/// Rows of one key: only the newest are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepNewest {
    /// The key columns.
    pub keys: Vec<String>,
    /// The column whose greatest value marks the newest rows (the watermark).
    pub by: String,
}

/// One run's staging table for one target, held under the writer lock.
pub struct SqlStaging {
    db: Arc<dyn SqlDatabase>,
    target: SqlTable,
    staging: SqlTable,
    run_id: String,
    state_table: SqlTable,
    /// Held, never used: dropping it releases the writer lock. In a mutex only so that a
    /// staging can be shared across an `await` (the guard itself need not be `Sync`).
    _lock: std::sync::Mutex<Box<dyn Any + Send>>,
}

impl SqlStaging {
    /// Locks `target`, creates its schema if needed, and drops the staging and retired
    /// tables crashed runs left; `state_schema` holds the state table.
    ///
    /// # Errors
    /// A connection error when the database cannot be reached.
    pub async fn open(
        db: Arc<dyn SqlDatabase>,
        target: SqlTable,
        run_id: &str,
        state_schema: &str,
    ) -> ConnectorResult<SqlStaging> {
        let lock = db.lock(&target).await?;
        db.ensure_schema(&target.schema).await?;
        let mut conn = db.connect().await?;
        let dialect = db.dialect();
        let tables = conn
            .query_text(&dialect.list_tables(&target.schema))
            .await?;
        for name in tables
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
        {
            if target.is_leftover(&name) {
                tracing::warn!(table = %target, leftover = %name, "dropping a table left by an earlier run");
                conn.execute(&dialect.drop_if_exists(&target.sibling(name)))
                    .await?;
            }
        }
        Ok(SqlStaging {
            staging: target.staging(run_id),
            state_table: SqlTable::new(state_schema, STATE_TABLE),
            run_id: run_id.to_string(),
            target,
            db,
            _lock: std::sync::Mutex::new(lock),
        })
    }

    /// The table the store loads into.
    pub fn table(&self) -> &SqlTable {
        &self.staging
    }

    /// The table readers see.
    pub fn target(&self) -> &SqlTable {
        &self.target
    }

    /// The statement batches of the publish transaction, in order.
    pub fn publish_batches(
        &self,
        mode: &SqlPublish,
        columns: &PublishColumns,
        state: Option<&EntityState>,
    ) -> Vec<String> {
        let d = self.db.dialect();
        let target = d.qualified(&self.target);
        let staging = d.qualified(&self.staging);
        let mut groups: Vec<Vec<String>> = vec![vec![d.begin()]];
        let names = || {
            columns
                .names
                .iter()
                .map(|c| d.quote(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let insert = || {
            format!(
                "INSERT INTO {target} ({0}) SELECT {0} FROM {staging};",
                names()
            )
        };
        if let Some(newest) = &columns.keep_newest {
            let same_key = newest
                .keys
                .iter()
                .map(|k| format!("hygge_newer.{0} = {staging}.{0}", d.quote(k)))
                .collect::<Vec<_>>()
                .join(" AND ");
            groups.push(vec![format!(
                "DELETE FROM {staging} WHERE EXISTS (SELECT 1 FROM {staging} AS hygge_newer WHERE {same_key} AND hygge_newer.{0} > {staging}.{0});",
                d.quote(&newest.by)
            )]);
        }
        match mode {
            SqlPublish::Rename => groups.push(vec![d.rename(&self.staging, &self.target.table)]),
            SqlPublish::Swap => groups.push(vec![
                d.rename(&self.target, &self.target.retired(&self.run_id).table),
                d.rename(&self.staging, &self.target.table),
            ]),
            SqlPublish::Insert { .. } | SqlPublish::Merge { .. } => {
                if !columns.added.is_empty() {
                    groups.push(
                        columns
                            .added
                            .iter()
                            .map(|c| format!("ALTER TABLE {target} ADD {c};"))
                            .collect(),
                    );
                }
                let mut body = Vec::new();
                match mode {
                    SqlPublish::Insert { truncate: true } => {
                        body.push(format!("{};", d.truncate(&self.target)));
                    }
                    SqlPublish::Merge { keys } => {
                        let matched = keys
                            .iter()
                            .map(|k| format!("hygge_staged.{0} = {target}.{0}", d.quote(k)))
                            .collect::<Vec<_>>()
                            .join(" AND ");
                        body.push(format!(
                            "DELETE FROM {target} WHERE EXISTS (SELECT 1 FROM {staging} AS hygge_staged WHERE {matched});"
                        ));
                    }
                    _ => {}
                }
                body.push(insert());
                groups.push(body);
            }
        }
        if let Some(state) = state {
            groups.push(state_statements(d, &self.state_table, state));
        }
        groups.push(vec![d.commit()]);
        if d.one_statement_per_call() {
            groups.into_iter().flatten().collect()
        } else if d.separate_batches() {
            groups.into_iter().map(|g| g.join(" ")).collect()
        } else {
            vec![groups.into_iter().flatten().collect::<Vec<_>>().join(" ")]
        }
    }

    /// Publishes the staged rows by `mode`, with `state` in the same transaction, then
    /// drops what the publish left over.
    ///
    /// # Errors
    /// A connection error (retried) when the state row is no longer `state.previous`; the
    /// database's error when a statement fails (the transaction is rolled back).
    pub async fn commit(
        self,
        mode: &SqlPublish,
        columns: &PublishColumns,
        state: Option<&StateUpdate>,
    ) -> ConnectorResult<()> {
        match self.publish(mode, columns, state).await {
            Ok(()) => Ok(()),
            Err(e) => {
                // Nothing was published; the staging table goes, on a fresh connection (the
                // publish's own was discarded), so a retry of this run starts clean.
                if let Err(cleanup) = self.drop_staging().await {
                    tracing::warn!(table = %self.staging, "could not drop the staging table: {cleanup}");
                }
                Err(e)
            }
        }
    }

    async fn publish(
        &self,
        mode: &SqlPublish,
        columns: &PublishColumns,
        state: Option<&StateUpdate>,
    ) -> ConnectorResult<()> {
        let d = self.db.dialect();
        let mut conn = self.db.connect().await?;
        if let Some(update) = state {
            ensure_state_table(self.db.as_ref(), conn.as_mut(), &self.state_table).await?;
            let found = read_state(d, conn.as_mut(), &self.state_table, &update.next).await?;
            if !unchanged(update.previous.as_ref(), found.as_ref()) {
                return Err(ConnectorError::connection(format!(
                    "the watermark state of {} changed while this run was reading; reading again from the new watermark",
                    self.target
                )));
            }
        }
        for batch in self.publish_batches(mode, columns, state.map(|s| &s.next)) {
            if let Err(e) = conn.execute(&batch).await {
                conn.discard();
                return Err(e.with_context(format!("publishing {}", self.target)));
            }
        }
        let leftover = match mode {
            SqlPublish::Swap => Some(self.target.retired(&self.run_id)),
            SqlPublish::Insert { .. } | SqlPublish::Merge { .. } => Some(self.staging.clone()),
            SqlPublish::Rename => None,
        };
        if let Some(leftover) = leftover
            && let Err(e) = conn.execute(&d.drop_if_exists(&leftover)).await
        {
            tracing::warn!(table = %leftover, "published, but could not drop the leftover table: {e}");
        }
        Ok(())
    }

    async fn drop_staging(&self) -> ConnectorResult<()> {
        let mut conn = self.db.connect().await?;
        conn.execute(&self.db.dialect().drop_if_exists(&self.staging))
            .await
    }

    /// Drops the staging table; the target is untouched.
    ///
    /// # Errors
    /// The database's error.
    pub async fn abort(self) -> ConnectorResult<()> {
        self.drop_staging().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_are_the_staging_and_retired_tables_of_this_target() {
        let t = SqlTable::new("dbo", "orders");
        assert!(t.is_leftover("orders__hygge_r1"));
        assert!(t.is_leftover("orders__hygge_old_r1"));
        assert!(!t.is_leftover("orders"));
        assert!(!t.is_leftover("orders_archive__hygge_r1"));
        assert!(!t.is_leftover("orders__hygge_"));
    }
}
