//! The SQL of the databases the engine writes (DuckDB, SQLite, PostgreSQL and standard SQL), for the runtime's SQL publish layer.

use hygge_runtime::publish::{SqlDialect, SqlTable};
use serde::Deserialize;

/// Which SQL a database speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// DuckDB.
    DuckDb,
    /// SQLite: no schemas but `main`, no TRUNCATE.
    Sqlite,
    /// PostgreSQL.
    #[serde(alias = "postgres")]
    PostgreSql,
    /// Standard SQL, for any other driver.
    Ansi,
}

impl Flavor {
    /// The flavor a driver library's name suggests (`libduckdb`, `adbc_driver_sqlite`, …).
    pub fn guess(library: &str) -> Flavor {
        let name = std::path::Path::new(library)
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if name.contains("duckdb") {
            Flavor::DuckDb
        } else if name.contains("sqlite") {
            Flavor::Sqlite
        } else if name.contains("postgres") {
            Flavor::PostgreSql
        } else {
            Flavor::Ansi
        }
    }

    /// The schema of a table named without one, when the database has a default.
    pub fn default_schema(self) -> Option<&'static str> {
        match self {
            Flavor::DuckDb | Flavor::Sqlite => Some("main"),
            Flavor::PostgreSql => Some("public"),
            Flavor::Ansi => None,
        }
    }

    /// Whether the database compares a column with a text literal of the watermark in its
    /// own type, so a home may filter by it in SQL (the flow filters again in any case).
    pub fn casts_literals(self) -> bool {
        matches!(self, Flavor::DuckDb | Flavor::PostgreSql)
    }
}

/// Identifiers and literals as standard SQL writes them (backslashes are plain in all four
/// flavors).
pub use hygge_runtime::publish::{standard_literal as literal, standard_quote as quote};

/// A flavor's SQL.
pub struct DbSql {
    /// Which.
    pub flavor: Flavor,
}

impl SqlDialect for DbSql {
    fn begin(&self) -> String {
        match self.flavor {
            // Takes SQLite's write lock at once, not at the first write.
            Flavor::Sqlite => "BEGIN IMMEDIATE;".into(),
            _ => "BEGIN TRANSACTION;".into(),
        }
    }

    fn truncate(&self, table: &SqlTable) -> String {
        match self.flavor {
            Flavor::Sqlite => format!("DELETE FROM {}", self.qualified(table)),
            _ => format!("TRUNCATE TABLE {}", self.qualified(table)),
        }
    }

    fn text_type(&self) -> &'static str {
        match self.flavor {
            Flavor::Ansi => "VARCHAR(4000)",
            _ => "TEXT",
        }
    }

    fn key_type(&self) -> &'static str {
        match self.flavor {
            Flavor::Ansi => "VARCHAR(256)",
            _ => "TEXT",
        }
    }

    fn list_tables(&self, schema: &str) -> String {
        match self.flavor {
            Flavor::Sqlite => format!(
                "SELECT name FROM {}.sqlite_master WHERE type = 'table'",
                quote(schema)
            ),
            Flavor::DuckDb => format!(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = {}",
                literal(schema)
            ),
            _ => format!(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = {}",
                literal(schema)
            ),
        }
    }

    fn one_statement_per_call(&self) -> bool {
        // DuckDB runs a script in one call; the other drivers prepare one statement.
        self.flavor != Flavor::DuckDb
    }
}

/// A query for the names and declared types of `table`'s columns, in order.
pub fn column_types_query(flavor: Flavor, table: &SqlTable) -> String {
    match flavor {
        Flavor::Sqlite => format!(
            "SELECT name, type FROM pragma_table_info({}, {})",
            literal(&table.table),
            literal(&table.schema)
        ),
        Flavor::DuckDb => format!(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = current_database() AND table_schema = {} AND table_name = {} ORDER BY ordinal_position",
            literal(&table.schema),
            literal(&table.table)
        ),
        _ => format!(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = {} AND table_name = {} ORDER BY ordinal_position",
            literal(&table.schema),
            literal(&table.table)
        ),
    }
}
