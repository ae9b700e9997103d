//! Watermark state of a SQL store: one row per entity in `hygge_state`, written by the
//! publish transaction ([`super::SqlStaging::commit`]) and read and reset here.

use std::sync::Arc;

use async_trait::async_trait;

use super::sql::{SqlConnection, SqlDatabase, SqlDialect, SqlTable, statement_calls};
use crate::contract::ConnectorResult;
use crate::state::{EntityState, StateStore};

/// The state table's name, in the schema the store config names (default: the target's).
pub const STATE_TABLE: &str = "hygge_state";

/// The state table's columns, in the order they are written.
const STATE_COLUMNS: [&str; 7] = [
    "flow",
    "entity",
    "column_name",
    "watermark",
    "data_type",
    "run_id",
    "committed_at",
];

/// The statements that make `state` the state row of its entity.
pub(super) fn state_statements(
    d: &dyn SqlDialect,
    state_table: &SqlTable,
    state: &EntityState,
) -> Vec<String> {
    let table = d.qualified(state_table);
    let lit = |s: &str| d.literal(s);
    vec![
        format!(
            "DELETE FROM {table} WHERE {} = {} AND {} = {};",
            d.quote("flow"),
            lit(&state.flow),
            d.quote("entity"),
            lit(&state.entity)
        ),
        format!(
            "INSERT INTO {table} ({}) VALUES ({}, {}, {}, {}, {}, {}, {});",
            STATE_COLUMNS
                .iter()
                .map(|c| d.quote(c))
                .collect::<Vec<_>>()
                .join(", "),
            lit(&state.flow),
            lit(&state.entity),
            lit(&state.column),
            state
                .watermark
                .as_deref()
                .map_or_else(|| "NULL".to_string(), lit),
            lit(&state.data_type),
            lit(&state.run_id),
            lit(&state.committed_at),
        ),
    ]
}

/// The column definitions of the state table in `dialect`, for dialects to build their
/// `CREATE TABLE` on: `flow` and `entity` identify a row.
pub fn state_table_columns<D: SqlDialect + ?Sized>(dialect: &D) -> String {
    let text = dialect.text_type();
    let key = dialect.key_type();
    format!(
        "{} {key} NOT NULL, {} {key} NOT NULL, {} {key} NOT NULL, {} {text} NULL, {} {key} NOT NULL, {} {key} NOT NULL, {} {key} NOT NULL",
        dialect.quote("flow"),
        dialect.quote("entity"),
        dialect.quote("column_name"),
        dialect.quote("watermark"),
        dialect.quote("data_type"),
        dialect.quote("run_id"),
        dialect.quote("committed_at"),
    )
}

pub(super) async fn read_state(
    d: &dyn SqlDialect,
    conn: &mut dyn SqlConnection,
    table: &SqlTable,
    key: &EntityState,
) -> ConnectorResult<Option<EntityState>> {
    read_state_row(d, conn, table, &key.flow, &key.entity).await
}

async fn read_state_row(
    d: &dyn SqlDialect,
    conn: &mut dyn SqlConnection,
    table: &SqlTable,
    flow: &str,
    entity: &str,
) -> ConnectorResult<Option<EntityState>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = {} AND {} = {}",
        STATE_COLUMNS
            .iter()
            .map(|c| d.quote(c))
            .collect::<Vec<_>>()
            .join(", "),
        d.qualified(table),
        d.quote("flow"),
        d.literal(flow),
        d.quote("entity"),
        d.literal(entity)
    );
    let rows = conn.query_text(&sql).await?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let text = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    Ok(Some(EntityState {
        flow: text(0),
        entity: text(1),
        column: text(2),
        watermark: row.get(3).cloned().flatten(),
        data_type: text(4),
        run_id: text(5),
        committed_at: text(6),
    }))
}

/// The watermark state of a SQL store: rows of its state table.
pub struct SqlState {
    db: Arc<dyn SqlDatabase>,
    table: SqlTable,
    /// The target table, whose writer lock `reset` takes.
    target: SqlTable,
}

impl SqlState {
    /// The state kept in `state_schema`.`hygge_state` for the store writing `target`.
    pub fn new(db: Arc<dyn SqlDatabase>, state_schema: &str, target: SqlTable) -> SqlState {
        SqlState {
            db,
            table: SqlTable::new(state_schema, STATE_TABLE),
            target,
        }
    }
}

/// Whether `table` exists.
async fn table_exists(
    db: &dyn SqlDatabase,
    conn: &mut dyn SqlConnection,
    table: &SqlTable,
) -> ConnectorResult<bool> {
    let tables = conn
        .query_text(&db.dialect().list_tables(&table.schema))
        .await?;
    Ok(tables
        .iter()
        .any(|row| row.first().cloned().flatten().as_deref() == Some(table.table.as_str())))
}

/// Creates the state table (and its schema) unless it exists; another flow creating it at
/// the same moment is success too.
pub(super) async fn ensure_state_table(
    db: &dyn SqlDatabase,
    conn: &mut dyn SqlConnection,
    table: &SqlTable,
) -> ConnectorResult<()> {
    if table_exists(db, conn, table).await? {
        return Ok(());
    }
    db.ensure_schema(&table.schema).await?;
    match conn.execute(&db.dialect().create_state_table(table)).await {
        Err(e) if !table_exists(db, conn, table).await? => Err(e),
        _ => Ok(()),
    }
}

#[async_trait]
impl StateStore for SqlState {
    async fn read(&self, flow: &str, entity: &str) -> ConnectorResult<Option<EntityState>> {
        let mut conn = self.db.connect().await?;
        if !table_exists(self.db.as_ref(), conn.as_mut(), &self.table).await? {
            return Ok(None);
        }
        read_state_row(self.db.dialect(), conn.as_mut(), &self.table, flow, entity).await
    }

    async fn reset(&self, flow: &str, entity: &str, run_id: &str) -> ConnectorResult<bool> {
        let _lock = self.db.lock(&self.target).await?;
        let d = self.db.dialect();
        let mut conn = self.db.connect().await?;
        ensure_state_table(self.db.as_ref(), conn.as_mut(), &self.table).await?;
        let had = read_state_row(d, conn.as_mut(), &self.table, flow, entity)
            .await?
            .is_some_and(|s| !s.is_reset());
        let marker = EntityState::reset_marker(flow, entity, run_id);
        let mut sql = vec![d.begin()];
        sql.extend(state_statements(d, &self.table, &marker));
        sql.push(d.commit());
        for call in statement_calls(d, sql) {
            conn.execute(&call).await?;
        }
        Ok(had)
    }

    fn location(&self) -> String {
        format!("table {}", self.table)
    }
}
