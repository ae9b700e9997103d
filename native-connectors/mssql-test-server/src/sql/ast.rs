//! The statements and expressions of the supported T-SQL subset.

use crate::types::{SqlType, Value};

/// A one- or two-part object name (a three-part name's database is dropped).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ObjectName {
    /// Schema, if given.
    pub(crate) schema: Option<String>,
    /// Object name.
    pub(crate) name: String,
}

impl ObjectName {
    /// The name as written (`schema.name` or `name`) for messages.
    pub(crate) fn display(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A column definition in CREATE TABLE / ALTER TABLE ADD.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ColumnSpec {
    /// Column name.
    pub(crate) name: String,
    /// Type.
    pub(crate) ty: SqlType,
    /// Nullability (default: nullable).
    pub(crate) nullable: bool,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Statement {
    /// SELECT.
    Select(Box<Select>),
    /// INSERT INTO … VALUES / SELECT.
    Insert {
        /// Target.
        table: ObjectName,
        /// Explicit column list.
        columns: Option<Vec<String>>,
        /// Rows.
        source: InsertSource,
    },
    /// `INSERT BULK t (cols…)`: the statement a bulk-load client sends first.
    InsertBulk {
        /// Target.
        table: ObjectName,
        /// Column names in the order the client will send them.
        columns: Vec<String>,
    },
    /// DELETE FROM t [WHERE].
    Delete {
        /// Target.
        table: ObjectName,
        /// Filter.
        filter: Option<Expr>,
    },
    /// CREATE SCHEMA.
    CreateSchema(String),
    /// CREATE TABLE.
    CreateTable {
        /// Name.
        table: ObjectName,
        /// Columns.
        columns: Vec<ColumnSpec>,
    },
    /// CREATE … INDEX (recorded only).
    CreateIndex {
        /// Index name.
        name: String,
        /// Kind text (`CLUSTERED COLUMNSTORE`).
        kind: String,
        /// Table.
        table: ObjectName,
    },
    /// DROP TABLE [IF EXISTS] t[, t2…].
    DropTable {
        /// Tables.
        tables: Vec<ObjectName>,
        /// IF EXISTS given.
        if_exists: bool,
    },
    /// ALTER TABLE t ADD col type …
    AlterTableAdd {
        /// Table.
        table: ObjectName,
        /// New columns.
        columns: Vec<ColumnSpec>,
    },
    /// ALTER TABLE t ALTER COLUMN col type [NULL | NOT NULL].
    AlterColumn {
        /// Table.
        table: ObjectName,
        /// The column's new definition.
        column: ColumnSpec,
    },
    /// TRUNCATE TABLE t.
    Truncate(ObjectName),
    /// EXEC proc args.
    Exec {
        /// Procedure name (last part, lower case).
        procedure: String,
        /// Positional or named (`@objname = …`) arguments.
        args: Vec<(Option<String>, Expr)>,
    },
    /// SET FMTONLY ON/OFF.
    SetFmtOnly(bool),
    /// SET NOCOUNT ON/OFF.
    SetNoCount(bool),
    /// Any other SET option (accepted and ignored).
    SetOther,
    /// BEGIN TRAN.
    Begin,
    /// COMMIT.
    Commit,
    /// ROLLBACK.
    Rollback,
    /// USE db.
    Use(String),
}

/// Rows of an INSERT.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum InsertSource {
    /// VALUES (…), (…).
    Values(Vec<Vec<Expr>>),
    /// A query.
    Select(Box<Select>),
}

/// A SELECT.
#[derive(Clone, Debug, PartialEq, Default)]
pub(crate) struct Select {
    /// DISTINCT.
    pub(crate) distinct: bool,
    /// TOP n.
    pub(crate) top: Option<Expr>,
    /// Select list.
    pub(crate) items: Vec<SelectItem>,
    /// FROM.
    pub(crate) from: Option<FromClause>,
    /// WHERE.
    pub(crate) filter: Option<Expr>,
    /// ORDER BY.
    pub(crate) order_by: Vec<OrderItem>,
    /// OFFSET n ROWS.
    pub(crate) offset: Option<Expr>,
    /// FETCH NEXT n ROWS ONLY.
    pub(crate) fetch: Option<Expr>,
}

/// An item of the select list.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SelectItem {
    /// `*` or `alias.*`.
    Star(Option<String>),
    /// An expression with an optional alias.
    Expr {
        /// The expression.
        expr: Expr,
        /// Its alias.
        alias: Option<String>,
    },
}

/// FROM source.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FromClause {
    /// A table or view.
    Table {
        /// Name.
        name: ObjectName,
        /// Alias.
        alias: Option<String>,
    },
    /// A derived table.
    Subquery {
        /// The query.
        select: Box<Select>,
        /// Its alias.
        alias: String,
    },
}

/// ORDER BY item.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OrderItem {
    /// Sort key.
    pub(crate) expr: Expr,
    /// DESC.
    pub(crate) desc: bool,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// Aggregate functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aggregate {
    Count,
    CountBig,
    Min,
    Max,
    Sum,
    Avg,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    /// A column reference.
    Column {
        /// Table alias / name qualifier.
        qualifier: Option<String>,
        /// Column name.
        name: String,
    },
    /// A literal with its SQL type.
    Literal(Value, SqlType),
    /// `@P1`.
    Param(String),
    /// `@@VERSION`.
    Global(String),
    /// `-x`.
    Neg(Box<Expr>),
    /// `NOT x`.
    Not(Box<Expr>),
    /// `a op b`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x IS [NOT] NULL`.
    IsNull(Box<Expr>, bool),
    /// `x [NOT] LIKE p`.
    Like(Box<Expr>, Box<Expr>, bool),
    /// `x [NOT] IN (…)`.
    InList(Box<Expr>, Vec<Expr>, bool),
    /// `x [NOT] BETWEEN a AND b`.
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
    /// An aggregate; `None` argument is `*`.
    Agg(Aggregate, Option<Box<Expr>>),
    /// `EXISTS (SELECT …)`, possibly correlated with the outer row.
    Exists(Box<Select>),
    /// CAST / CONVERT.
    Cast(Box<Expr>, SqlType),
    /// A scalar function call.
    Func(String, Vec<Expr>),
}

impl Expr {
    /// Default output column name (`name` for a column, empty otherwise).
    pub(crate) fn default_name(&self) -> String {
        match self {
            Expr::Column { name, .. } => name.clone(),
            _ => String::new(),
        }
    }
}
