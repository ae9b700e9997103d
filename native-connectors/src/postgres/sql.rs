//! Table names, parsed once from config and quoted wherever they enter SQL.

use std::fmt;

use hygge_runtime::publish::SqlTable;

use super::dialect::quote;

/// The schema a table name without one lives in.
pub const DEFAULT_SCHEMA: &str = "public";

/// `schema.table`, exactly as written (both parts are always quoted, so case is kept).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PgTable {
    /// Schema.
    pub schema: String,
    /// Table.
    pub table: String,
}

impl PgTable {
    /// `schema.table`, or `table` in `public`.
    ///
    /// # Errors
    /// What is wrong with the name.
    pub fn parse(raw: &str) -> Result<PgTable, String> {
        let raw = raw.trim();
        let (schema, table) = match raw.split_once('.') {
            Some((schema, table)) => (schema.trim(), table.trim()),
            None => (DEFAULT_SCHEMA, raw),
        };
        if schema.is_empty() || table.is_empty() || table.contains('.') {
            return Err(format!("`{raw}` is not a table name"));
        }
        if table.len() > 63 {
            return Err(format!(
                "`{table}` is longer than PostgreSQL's 63-character names"
            ));
        }
        Ok(PgTable {
            schema: schema.to_string(),
            table: table.to_string(),
        })
    }

    /// `"schema"."table"`.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.table))
    }

    /// The same table as the publish layer names it.
    pub fn sql_table(&self) -> SqlTable {
        SqlTable::new(self.schema.clone(), self.table.clone())
    }
}

impl fmt::Display for PgTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_the_default_schema_and_quote_safely() {
        let t = PgTable::parse("Sales.Orders").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.quoted(), "\"Sales\".\"Orders\"");
        assert_eq!(
            PgTable::parse("orders").map(|t| t.schema),
            Ok("public".into())
        );
        assert_eq!(
            PgTable::parse("a.\"x").map(|t| t.quoted()),
            Ok("\"a\".\"\"\"x\"".into())
        );
        assert!(PgTable::parse("a.").is_err());
        assert!(PgTable::parse("a.b.c").is_err());
    }
}
