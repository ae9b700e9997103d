//! Recursive-descent parser for the supported T-SQL subset. Anything else is
//! error 102 "Incorrect syntax near '…'".

use super::ast::{
    Aggregate, BinOp, ColumnSpec, Expr, FromClause, InsertSource, ObjectName, OrderItem, Select,
    SelectItem, Statement,
};
use super::lexer::{Tok, tokenize_with_positions};
use crate::error::SqlError;
use crate::types::{Decimal, SqlType, TypeArg, Value};

/// Words that start a statement (so they end an optional trailing name).
const STATEMENT_STARTS: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "TRUNCATE", "EXEC",
    "EXECUTE", "SET", "BEGIN", "COMMIT", "ROLLBACK", "USE", "DECLARE", "IF", "WITH", "PRINT",
    "SAVE", "MERGE",
];

/// Words that cannot be an alias without AS.
const RESERVED: &[&str] = &[
    "FROM", "WHERE", "ORDER", "GROUP", "HAVING", "UNION", "AND", "OR", "NOT", "AS", "ON", "JOIN",
    "INNER", "LEFT", "RIGHT", "OUTER", "CROSS", "OFFSET", "FETCH", "INTO", "VALUES", "IS", "LIKE",
    "IN", "BETWEEN", "NULL", "ASC", "DESC", "OPTION", "FOR",
];

/// Parses a batch into statements.
pub(crate) fn parse_batch(sql: &str) -> Result<Vec<Statement>, SqlError> {
    let toks = tokenize_with_positions(sql).map_err(|near| SqlError::syntax(&near, sql))?;
    let mut p = Parser {
        toks,
        pos: 0,
        sql,
        stmt_start: 0,
    };
    let mut out = Vec::new();
    loop {
        while p.eat_sym(";") {}
        if p.at_end() {
            break;
        }
        p.stmt_start = p.pos;
        out.push(p.statement()?);
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    sql: &'a str,
    stmt_start: usize,
}

type PResult<T> = Result<T, SqlError>;

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k).map(|(t, _)| t)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(t, _)| t.clone());
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn error(&self) -> SqlError {
        let near = self
            .peek()
            .map(Tok::display)
            .or_else(|| self.toks.last().map(|(t, _)| t.display()))
            .unwrap_or_default();
        let start = self.toks.get(self.stmt_start).map(|(_, i)| *i).unwrap_or(0);
        let statement: String = self.sql.chars().skip(start).collect();
        SqlError::syntax(&near, &statement)
    }

    fn is_kw(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is_kw(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> PResult<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> PResult<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn at_statement_start(&self) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if STATEMENT_STARTS.iter().any(|k| w.eq_ignore_ascii_case(k)))
    }

    fn ident(&mut self) -> PResult<String> {
        match self.peek() {
            Some(Tok::Word(w)) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            Some(Tok::Quoted(q)) => {
                let q = q.clone();
                self.pos += 1;
                Ok(q)
            }
            _ => Err(self.error()),
        }
    }

    /// `a`, `s.a`, `db.s.a`, `db..a`.
    fn object_name(&mut self) -> PResult<ObjectName> {
        let mut parts = vec![self.ident()?];
        while self.eat_sym(".") {
            if self.is_sym(".") {
                parts.push(String::new());
                continue;
            }
            parts.push(self.ident()?);
        }
        let name = parts.pop().ok_or_else(|| self.error())?;
        let schema = parts.pop().filter(|s| !s.is_empty());
        Ok(ObjectName { schema, name })
    }

    fn statement(&mut self) -> PResult<Statement> {
        let Some(Tok::Word(w)) = self.peek() else {
            return Err(self.error());
        };
        let w = w.to_ascii_uppercase();
        match w.as_str() {
            "SELECT" => Ok(Statement::Select(Box::new(self.select()?))),
            "INSERT" => self.insert(),
            "DELETE" => self.delete(),
            "CREATE" => self.create(),
            "DROP" => self.drop_table(),
            "ALTER" => self.alter(),
            "TRUNCATE" => {
                self.pos += 1;
                self.expect_kw("TABLE")?;
                Ok(Statement::Truncate(self.object_name()?))
            }
            "EXEC" | "EXECUTE" => self.exec(),
            "SET" => self.set(),
            "BEGIN" => {
                self.pos += 1;
                if !(self.eat_kw("TRAN") || self.eat_kw("TRANSACTION")) {
                    return Err(self.error());
                }
                self.optional_tran_name();
                Ok(Statement::Begin)
            }
            "COMMIT" | "ROLLBACK" => {
                self.pos += 1;
                if self.eat_kw("TRAN") || self.eat_kw("TRANSACTION") || self.eat_kw("WORK") {
                    self.optional_tran_name();
                }
                Ok(if w == "COMMIT" {
                    Statement::Commit
                } else {
                    Statement::Rollback
                })
            }
            "USE" => {
                self.pos += 1;
                Ok(Statement::Use(self.ident()?))
            }
            _ => Err(self.error()),
        }
    }

    fn optional_tran_name(&mut self) {
        if matches!(
            self.peek(),
            Some(Tok::Word(_) | Tok::Quoted(_) | Tok::Var(_))
        ) && !self.at_statement_start()
        {
            self.pos += 1;
        }
    }

    fn set(&mut self) -> PResult<Statement> {
        self.expect_kw("SET")?;
        if self.eat_kw("TRANSACTION") {
            self.expect_kw("ISOLATION")?;
            self.expect_kw("LEVEL")?;
            while matches!(self.peek(), Some(Tok::Word(_))) && !self.at_statement_start() {
                self.pos += 1;
            }
            return Ok(Statement::SetOther);
        }
        let mut options = vec![self.ident()?];
        while self.eat_sym(",") {
            options.push(self.ident()?);
        }
        let value = self.next().ok_or_else(|| self.error())?;
        let on = value.is_kw("ON");
        let is_onoff = on || value.is_kw("OFF");
        if let [option] = options.as_slice() {
            if option.eq_ignore_ascii_case("FMTONLY") && is_onoff {
                return Ok(Statement::SetFmtOnly(on));
            }
            if option.eq_ignore_ascii_case("NOCOUNT") && is_onoff {
                return Ok(Statement::SetNoCount(on));
            }
        }
        match value {
            Tok::Word(_) | Tok::Number(_) | Tok::Str { .. } | Tok::Var(_) | Tok::Quoted(_) => {
                Ok(Statement::SetOther)
            }
            Tok::Sym("-") if matches!(self.peek(), Some(Tok::Number(_))) => {
                self.pos += 1;
                Ok(Statement::SetOther)
            }
            _ => Err(self.error()),
        }
    }

    fn exec(&mut self) -> PResult<Statement> {
        self.pos += 1;
        let name = self.object_name()?;
        let procedure = name.name.to_ascii_lowercase();
        let mut args = Vec::new();
        if self.at_end() || self.is_sym(";") || self.at_statement_start() {
            return Ok(Statement::Exec { procedure, args });
        }
        loop {
            let named = match (self.peek(), self.peek_at(1)) {
                (Some(Tok::Var(v)), Some(Tok::Sym("="))) => {
                    let v = v.clone();
                    self.pos += 2;
                    Some(v)
                }
                _ => None,
            };
            let value = self.expr()?;
            args.push((named, value));
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(Statement::Exec { procedure, args })
    }

    fn insert(&mut self) -> PResult<Statement> {
        self.expect_kw("INSERT")?;
        if self.eat_kw("BULK") {
            let table = self.object_name()?;
            let mut columns = Vec::new();
            if self.eat_sym("(") {
                loop {
                    columns.push(self.ident()?);
                    // Skip the declared type: the table's own types are used.
                    let mut depth = 0;
                    loop {
                        match self.peek() {
                            None => return Err(self.error()),
                            Some(Tok::Sym("(")) => depth += 1,
                            Some(Tok::Sym(")")) if depth == 0 => break,
                            Some(Tok::Sym(")")) => depth -= 1,
                            Some(Tok::Sym(",")) if depth == 0 => break,
                            _ => {}
                        }
                        self.pos += 1;
                    }
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                self.expect_sym(")")?;
            }
            if self.eat_kw("WITH") {
                self.expect_sym("(")?;
                let mut depth = 0;
                loop {
                    match self.next() {
                        None => return Err(self.error()),
                        Some(Tok::Sym("(")) => depth += 1,
                        Some(Tok::Sym(")")) if depth == 0 => break,
                        Some(Tok::Sym(")")) => depth -= 1,
                        _ => {}
                    }
                }
            }
            return Ok(Statement::InsertBulk { table, columns });
        }
        self.eat_kw("INTO");
        let table = self.object_name()?;
        let mut columns = None;
        if self.is_sym("(") && !matches!(self.peek_at(1), Some(t) if t.is_kw("SELECT")) {
            self.pos += 1;
            let mut cols = vec![self.ident()?];
            while self.eat_sym(",") {
                cols.push(self.ident()?);
            }
            self.expect_sym(")")?;
            columns = Some(cols);
        }
        if self.eat_kw("VALUES") {
            let mut rows = Vec::new();
            loop {
                self.expect_sym("(")?;
                let mut row = vec![self.expr()?];
                while self.eat_sym(",") {
                    row.push(self.expr()?);
                }
                self.expect_sym(")")?;
                rows.push(row);
                if !self.eat_sym(",") {
                    break;
                }
            }
            return Ok(Statement::Insert {
                table,
                columns,
                source: InsertSource::Values(rows),
            });
        }
        let parenthesised = self.eat_sym("(");
        if !self.is_kw("SELECT") {
            return Err(self.error());
        }
        let select = self.select()?;
        if parenthesised {
            self.expect_sym(")")?;
        }
        Ok(Statement::Insert {
            table,
            columns,
            source: InsertSource::Select(Box::new(select)),
        })
    }

    fn delete(&mut self) -> PResult<Statement> {
        self.expect_kw("DELETE")?;
        self.eat_kw("FROM");
        let table = self.object_name()?;
        let filter = if self.eat_kw("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        Ok(Statement::Delete { table, filter })
    }

    fn create(&mut self) -> PResult<Statement> {
        self.expect_kw("CREATE")?;
        if self.eat_kw("SCHEMA") {
            let name = self.ident()?;
            if self.eat_kw("AUTHORIZATION") {
                self.ident()?;
            }
            return Ok(Statement::CreateSchema(name));
        }
        if self.eat_kw("TABLE") {
            let table = self.object_name()?;
            self.expect_sym("(")?;
            let mut columns = Vec::new();
            loop {
                if self.is_kw("CONSTRAINT") || self.is_kw("PRIMARY") || self.is_kw("UNIQUE") {
                    self.skip_constraint()?;
                } else {
                    columns.push(self.column_spec()?);
                }
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
            self.skip_table_options()?;
            return Ok(Statement::CreateTable { table, columns });
        }
        let mut kind = Vec::new();
        for kw in ["UNIQUE", "CLUSTERED", "NONCLUSTERED", "COLUMNSTORE"] {
            if self.eat_kw(kw) {
                kind.push(kw);
            }
        }
        self.expect_kw("INDEX")?;
        let name = self.ident()?;
        self.expect_kw("ON")?;
        let table = self.object_name()?;
        if self.eat_sym("(") {
            let mut depth = 0;
            loop {
                match self.next() {
                    None => return Err(self.error()),
                    Some(Tok::Sym("(")) => depth += 1,
                    Some(Tok::Sym(")")) if depth == 0 => break,
                    Some(Tok::Sym(")")) => depth -= 1,
                    _ => {}
                }
            }
        }
        self.skip_table_options()?;
        Ok(Statement::CreateIndex {
            name,
            kind: kind.join(" "),
            table,
        })
    }

    /// `WITH (...)` and `ON [PRIMARY]` after a table or index definition.
    fn skip_table_options(&mut self) -> PResult<()> {
        loop {
            if self.is_kw("WITH") && matches!(self.peek_at(1), Some(Tok::Sym("("))) {
                self.pos += 2;
                let mut depth = 0;
                loop {
                    match self.next() {
                        None => return Err(self.error()),
                        Some(Tok::Sym("(")) => depth += 1,
                        Some(Tok::Sym(")")) if depth == 0 => break,
                        Some(Tok::Sym(")")) => depth -= 1,
                        _ => {}
                    }
                }
            } else if self.is_kw("ON") {
                self.pos += 1;
                self.ident()?;
            } else {
                return Ok(());
            }
        }
    }

    fn skip_constraint(&mut self) -> PResult<()> {
        if self.eat_kw("CONSTRAINT") {
            self.ident()?;
        }
        let mut depth = 0;
        loop {
            match self.peek() {
                None => return Err(self.error()),
                Some(Tok::Sym("(")) => depth += 1,
                Some(Tok::Sym(")")) if depth == 0 => return Ok(()),
                Some(Tok::Sym(")")) => depth -= 1,
                Some(Tok::Sym(",")) if depth == 0 => return Ok(()),
                _ => {}
            }
            self.pos += 1;
        }
    }

    fn data_type(&mut self) -> PResult<SqlType> {
        let mut name = self.ident()?;
        // `sys.xxx` / `dbo.xxx` type prefixes.
        if self.eat_sym(".") {
            name = self.ident()?;
        }
        // `double precision`, `national char varying` are not supported; `char varying` neither.
        let mut args = Vec::new();
        if self.eat_sym("(") {
            loop {
                match self.next() {
                    Some(Tok::Number(n)) => {
                        args.push(TypeArg::Number(n.parse().map_err(|_| self.error())?))
                    }
                    Some(t) if t.is_kw("MAX") => args.push(TypeArg::Max),
                    _ => return Err(self.error()),
                }
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
        }
        SqlType::from_name(&name, &args).map_err(|_| {
            SqlError::new(
                2715,
                format!("Column, parameter, or variable #1: Cannot find data type {name}."),
            )
        })
    }

    fn column_spec(&mut self) -> PResult<ColumnSpec> {
        let name = self.ident()?;
        let ty = self.data_type()?;
        let mut nullable = true;
        loop {
            if self.eat_kw("NULL") {
                nullable = true;
            } else if self.is_kw("NOT") && matches!(self.peek_at(1), Some(t) if t.is_kw("NULL")) {
                self.pos += 2;
                nullable = false;
            } else if self.eat_kw("COLLATE") {
                self.ident()?;
            } else if self.eat_kw("IDENTITY") {
                if self.eat_sym("(") {
                    self.expr()?;
                    if self.eat_sym(",") {
                        self.expr()?;
                    }
                    self.expect_sym(")")?;
                }
                nullable = false;
            } else if self.eat_kw("PRIMARY") {
                self.expect_kw("KEY")?;
                self.eat_kw("CLUSTERED");
                self.eat_kw("NONCLUSTERED");
                nullable = false;
            } else if self.eat_kw("UNIQUE") {
                self.eat_kw("CLUSTERED");
                self.eat_kw("NONCLUSTERED");
            } else if self.eat_kw("CONSTRAINT") {
                self.ident()?;
            } else if self.eat_kw("SPARSE") {
            } else {
                break;
            }
        }
        Ok(ColumnSpec { name, ty, nullable })
    }

    fn drop_table(&mut self) -> PResult<Statement> {
        self.expect_kw("DROP")?;
        self.expect_kw("TABLE")?;
        let mut if_exists = false;
        if self.is_kw("IF") {
            self.pos += 1;
            self.expect_kw("EXISTS")?;
            if_exists = true;
        }
        let mut tables = vec![self.object_name()?];
        while self.eat_sym(",") {
            tables.push(self.object_name()?);
        }
        Ok(Statement::DropTable { tables, if_exists })
    }

    fn alter(&mut self) -> PResult<Statement> {
        self.expect_kw("ALTER")?;
        self.expect_kw("TABLE")?;
        let table = self.object_name()?;
        if self.eat_kw("ALTER") {
            self.expect_kw("COLUMN")?;
            let column = self.column_spec()?;
            return Ok(Statement::AlterColumn { table, column });
        }
        self.expect_kw("ADD")?;
        let mut columns = vec![self.column_spec()?];
        while self.eat_sym(",") {
            columns.push(self.column_spec()?);
        }
        Ok(Statement::AlterTableAdd { table, columns })
    }

    fn select(&mut self) -> PResult<Select> {
        self.expect_kw("SELECT")?;
        let mut s = Select::default();
        if self.eat_kw("DISTINCT") {
            s.distinct = true;
        } else {
            self.eat_kw("ALL");
        }
        if self.eat_kw("TOP") {
            if self.eat_sym("(") {
                s.top = Some(self.expr()?);
                self.expect_sym(")")?;
            } else {
                s.top = Some(self.primary()?);
            }
        }
        loop {
            s.items.push(self.select_item()?);
            if !self.eat_sym(",") {
                break;
            }
        }
        if self.eat_kw("FROM") {
            s.from = Some(self.parse_from()?);
        }
        if self.eat_kw("WHERE") {
            s.filter = Some(self.expr()?);
        }
        if self.is_kw("ORDER") {
            self.pos += 1;
            self.expect_kw("BY")?;
            loop {
                let expr = self.expr()?;
                let desc = if self.eat_kw("DESC") {
                    true
                } else {
                    self.eat_kw("ASC");
                    false
                };
                s.order_by.push(OrderItem { expr, desc });
                if !self.eat_sym(",") {
                    break;
                }
            }
            if self.eat_kw("OFFSET") {
                s.offset = Some(self.expr()?);
                if !(self.eat_kw("ROWS") || self.eat_kw("ROW")) {
                    return Err(self.error());
                }
                if self.eat_kw("FETCH") {
                    if !(self.eat_kw("NEXT") || self.eat_kw("FIRST")) {
                        return Err(self.error());
                    }
                    s.fetch = Some(self.expr()?);
                    if !(self.eat_kw("ROWS") || self.eat_kw("ROW")) {
                        return Err(self.error());
                    }
                    self.expect_kw("ONLY")?;
                }
            }
        }
        if self.is_kw("OPTION") {
            self.pos += 1;
            self.expect_sym("(")?;
            let mut depth = 0;
            loop {
                match self.next() {
                    None => return Err(self.error()),
                    Some(Tok::Sym("(")) => depth += 1,
                    Some(Tok::Sym(")")) if depth == 0 => break,
                    Some(Tok::Sym(")")) => depth -= 1,
                    _ => {}
                }
            }
        }
        Ok(s)
    }

    fn select_item(&mut self) -> PResult<SelectItem> {
        if self.eat_sym("*") {
            return Ok(SelectItem::Star(None));
        }
        if let (Some(Tok::Word(q) | Tok::Quoted(q)), Some(Tok::Sym(".")), Some(Tok::Sym("*"))) =
            (self.peek(), self.peek_at(1), self.peek_at(2))
        {
            let q = q.clone();
            self.pos += 3;
            return Ok(SelectItem::Star(Some(q)));
        }
        // `alias = expr`.
        if let (Some(Tok::Word(a) | Tok::Quoted(a)), Some(Tok::Sym("="))) =
            (self.peek(), self.peek_at(1))
        {
            let a = a.clone();
            if !RESERVED.iter().any(|r| a.eq_ignore_ascii_case(r)) {
                self.pos += 2;
                let expr = self.expr()?;
                return Ok(SelectItem::Expr {
                    expr,
                    alias: Some(a),
                });
            }
        }
        let expr = self.expr()?;
        let alias = self.optional_alias()?;
        Ok(SelectItem::Expr { expr, alias })
    }

    fn optional_alias(&mut self) -> PResult<Option<String>> {
        if self.eat_kw("AS") {
            return match self.next() {
                Some(Tok::Word(w) | Tok::Quoted(w)) => Ok(Some(w)),
                Some(Tok::Str { text, .. }) => Ok(Some(text)),
                _ => Err(self.error()),
            };
        }
        match self.peek() {
            Some(Tok::Quoted(q)) => {
                let q = q.clone();
                self.pos += 1;
                Ok(Some(q))
            }
            Some(Tok::Str { text, .. }) => {
                let t = text.clone();
                self.pos += 1;
                Ok(Some(t))
            }
            Some(Tok::Word(w))
                if !RESERVED.iter().any(|r| w.eq_ignore_ascii_case(r))
                    && !self.at_statement_start() =>
            {
                let w = w.clone();
                self.pos += 1;
                Ok(Some(w))
            }
            _ => Ok(None),
        }
    }

    fn parse_from(&mut self) -> PResult<FromClause> {
        if self.eat_sym("(") {
            let select = self.select()?;
            self.expect_sym(")")?;
            let alias = self.optional_alias()?.ok_or_else(|| self.error())?;
            return Ok(FromClause::Subquery {
                select: Box::new(select),
                alias,
            });
        }
        let name = self.object_name()?;
        let alias = self.optional_alias()?;
        if self.is_kw("WITH") && matches!(self.peek_at(1), Some(Tok::Sym("("))) {
            // Table hints such as WITH (NOLOCK).
            self.pos += 2;
            while !self.eat_sym(")") {
                if self.next().is_none() {
                    return Err(self.error());
                }
            }
        }
        if self.is_kw("JOIN")
            || self.is_kw("INNER")
            || self.is_kw("LEFT")
            || self.is_kw("CROSS")
            || self.is_sym(",")
        {
            return Err(self.error());
        }
        Ok(FromClause::Table { name, alias })
    }

    // ----- expressions -----

    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        let mut left = self.and_expr()?;
        while self.eat_kw("OR") {
            let right = self.and_expr()?;
            left = Expr::Binary(BinOp::Or, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        let mut left = self.not_expr()?;
        while self.eat_kw("AND") {
            let right = self.not_expr()?;
            left = Expr::Binary(BinOp::And, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        if self.eat_kw("NOT") {
            return Ok(Expr::Not(Box::new(self.not_expr()?)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> PResult<Expr> {
        let left = self.additive()?;
        let op = match self.peek() {
            Some(Tok::Sym(sym)) => match *sym {
                "=" => Some(BinOp::Eq),
                "<>" | "!=" => Some(BinOp::Ne),
                "<" => Some(BinOp::Lt),
                "<=" | "!>" => Some(BinOp::Le),
                ">" => Some(BinOp::Gt),
                ">=" | "!<" => Some(BinOp::Ge),
                _ => None,
            },
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.additive()?;
            return Ok(Expr::Binary(op, Box::new(left), Box::new(right)));
        }
        if self.eat_kw("IS") {
            let negated = self.eat_kw("NOT");
            self.expect_kw("NULL")?;
            return Ok(Expr::IsNull(Box::new(left), negated));
        }
        let negated = if self.is_kw("NOT")
            && matches!(self.peek_at(1), Some(t) if t.is_kw("LIKE") || t.is_kw("IN") || t.is_kw("BETWEEN"))
        {
            self.pos += 1;
            true
        } else {
            false
        };
        if self.eat_kw("LIKE") {
            let pattern = self.additive()?;
            if self.eat_kw("ESCAPE") {
                return Err(self.error());
            }
            return Ok(Expr::Like(Box::new(left), Box::new(pattern), negated));
        }
        if self.eat_kw("IN") {
            self.expect_sym("(")?;
            let mut list = vec![self.expr()?];
            while self.eat_sym(",") {
                list.push(self.expr()?);
            }
            self.expect_sym(")")?;
            return Ok(Expr::InList(Box::new(left), list, negated));
        }
        if self.eat_kw("BETWEEN") {
            let low = self.additive()?;
            self.expect_kw("AND")?;
            let high = self.additive()?;
            return Ok(Expr::Between(
                Box::new(left),
                Box::new(low),
                Box::new(high),
                negated,
            ));
        }
        if negated {
            return Err(self.error());
        }
        Ok(left)
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.eat_sym("+") {
                BinOp::Add
            } else if self.eat_sym("-") {
                BinOp::Sub
            } else {
                return Ok(left);
            };
            let right = self.multiplicative()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_sym("*") {
                BinOp::Mul
            } else if self.eat_sym("/") {
                BinOp::Div
            } else if self.eat_sym("%") {
                BinOp::Mod
            } else {
                return Ok(left);
            };
            let right = self.unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.eat_sym("-") {
            let inner = self.unary()?;
            return Ok(match inner {
                Expr::Literal(Value::Int(i), t) => Expr::Literal(Value::Int(-i), t),
                Expr::Literal(Value::Float(f), t) => Expr::Literal(Value::Float(-f), t),
                Expr::Literal(Value::Decimal(d), t) => Expr::Literal(
                    Value::Decimal(Decimal {
                        value: -d.value,
                        scale: d.scale,
                    }),
                    t,
                ),
                other => Expr::Neg(Box::new(other)),
            });
        }
        if self.eat_sym("+") {
            return self.unary();
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<Expr> {
        let Some(t) = self.next() else {
            return Err(self.error());
        };
        match t {
            Tok::Number(n) => number_literal(&n).ok_or_else(|| {
                self.pos -= 1;
                self.error()
            }),
            Tok::Str { text, national } => {
                let n = if national {
                    text.encode_utf16().count()
                } else {
                    text.chars().count()
                };
                let len = if national {
                    (n <= 4000).then_some(n.max(1) as u16)
                } else {
                    (n <= 8000).then_some(n.max(1) as u16)
                };
                let ty = if national {
                    SqlType::NVarChar(len)
                } else {
                    SqlType::VarChar(len)
                };
                Ok(Expr::Literal(Value::String(text), ty))
            }
            Tok::Binary(b) => {
                let ty = SqlType::VarBinary((b.len() <= 8000).then_some(b.len().max(1) as u16));
                Ok(Expr::Literal(Value::Binary(b), ty))
            }
            Tok::Var(v) => {
                if v.starts_with("@@") {
                    Ok(Expr::Global(v.to_ascii_uppercase()))
                } else {
                    Ok(Expr::Param(v))
                }
            }
            Tok::Sym("(") => {
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("NULL") => {
                Ok(Expr::Literal(Value::Null, SqlType::Int))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("EXISTS") && self.is_sym("(") => {
                self.pos += 1;
                let select = self.select()?;
                self.expect_sym(")")?;
                Ok(Expr::Exists(Box::new(select)))
            }
            Tok::Word(w) if self.is_sym("(") => self.call(&w),
            Tok::Word(w) if RESERVED.iter().any(|r| w.eq_ignore_ascii_case(r)) => {
                self.pos -= 1;
                Err(self.error())
            }
            Tok::Word(w) | Tok::Quoted(w) => {
                let mut parts = vec![w];
                while self.is_sym(".") {
                    self.pos += 1;
                    parts.push(self.ident()?);
                }
                let name = parts.pop().ok_or_else(|| self.error())?;
                let qualifier = parts.pop();
                Ok(Expr::Column { qualifier, name })
            }
            _ => {
                self.pos -= 1;
                Err(self.error())
            }
        }
    }

    fn call(&mut self, name: &str) -> PResult<Expr> {
        self.expect_sym("(")?;
        let upper = name.to_ascii_uppercase();
        let agg = match upper.as_str() {
            "COUNT" => Some(Aggregate::Count),
            "COUNT_BIG" => Some(Aggregate::CountBig),
            "MIN" => Some(Aggregate::Min),
            "MAX" => Some(Aggregate::Max),
            "SUM" => Some(Aggregate::Sum),
            "AVG" => Some(Aggregate::Avg),
            _ => None,
        };
        if let Some(agg) = agg {
            if matches!(agg, Aggregate::Count | Aggregate::CountBig) && self.eat_sym("*") {
                self.expect_sym(")")?;
                return Ok(Expr::Agg(agg, None));
            }
            self.eat_kw("ALL");
            let arg = self.expr()?;
            self.expect_sym(")")?;
            return Ok(Expr::Agg(agg, Some(Box::new(arg))));
        }
        if upper == "CAST" || upper == "TRY_CAST" {
            let e = self.expr()?;
            self.expect_kw("AS")?;
            let ty = self.data_type()?;
            self.expect_sym(")")?;
            return Ok(Expr::Cast(Box::new(e), ty));
        }
        if upper == "CONVERT" || upper == "TRY_CONVERT" {
            let ty = self.data_type()?;
            self.expect_sym(",")?;
            let e = self.expr()?;
            if self.eat_sym(",") {
                self.expr()?;
            }
            self.expect_sym(")")?;
            return Ok(Expr::Cast(Box::new(e), ty));
        }
        let mut args = Vec::new();
        if !self.eat_sym(")") {
            loop {
                args.push(self.expr()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
        }
        Ok(Expr::Func(upper, args))
    }
}

fn number_literal(n: &str) -> Option<Expr> {
    if n.contains(['e', 'E']) {
        let f: f64 = n.parse().ok()?;
        return Some(Expr::Literal(Value::Float(f), SqlType::Float));
    }
    if n.contains('.') {
        let d = Decimal::parse(n)?;
        let v = Value::Decimal(d);
        let ty = v.natural_type();
        return Some(Expr::Literal(v, ty));
    }
    match n.parse::<i64>() {
        Ok(i) => {
            let v = Value::Int(i);
            let ty = v.natural_type();
            Some(Expr::Literal(v, ty))
        }
        Err(_) => {
            let d = Decimal::parse(n)?;
            let v = Value::Decimal(d);
            let ty = v.natural_type();
            Some(Expr::Literal(v, ty))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_batch_without_semicolons() {
        let stmts = parse_batch(
            "SET FMTONLY ON select * from dbo.t SET FMTONLY OFF\nBEGIN TRAN INSERT INTO [s].[t] ([a]) VALUES (1), (-2) COMMIT",
        )
        .unwrap();
        assert_eq!(stmts.len(), 6);
        assert_eq!(stmts[0], Statement::SetFmtOnly(true));
        assert!(matches!(stmts[1], Statement::Select(_)));
        assert_eq!(stmts[2], Statement::SetFmtOnly(false));
        assert_eq!(stmts[3], Statement::Begin);
        assert!(matches!(stmts[4], Statement::Insert { .. }));
        assert_eq!(stmts[5], Statement::Commit);
    }

    #[test]
    fn parses_select_clauses() {
        let stmts = parse_batch(
            "SELECT TOP (5) a AS x, COUNT(*), CAST(b AS nvarchar(10)) FROM (SELECT * FROM t) AS q \
             WHERE a >= @P1 AND (b IS NOT NULL OR c LIKE N'%x_') ORDER BY a DESC, 2 OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY",
        )
        .unwrap();
        let Statement::Select(s) = &stmts[0] else {
            panic!("not a select")
        };
        assert!(s.top.is_some());
        assert_eq!(s.items.len(), 3);
        assert!(matches!(s.from, Some(FromClause::Subquery { .. })));
        assert_eq!(s.order_by.len(), 2);
        assert!(s.order_by[0].desc);
        assert!(s.offset.is_some() && s.fetch.is_some());
    }

    #[test]
    fn unsupported_is_error_102_with_the_statement() {
        let err = parse_batch("SELECT 1; MERGE INTO t USING s ON 1=1").unwrap_err();
        assert_eq!(err.number, 102);
        assert!(
            err.message.contains("Incorrect syntax near 'MERGE'."),
            "{}",
            err.message
        );
        assert!(err.message.contains("MERGE INTO t"), "{}", err.message);
    }

    #[test]
    fn parses_ddl() {
        let stmts = parse_batch(
            "CREATE TABLE [s].[t] ([a] INT NOT NULL, [b] NVARCHAR(40) NULL, [c] NVARCHAR(MAX), [d] DECIMAL(38,10));\
             CREATE CLUSTERED COLUMNSTORE INDEX [cci] ON [s].[t];\
             DROP TABLE IF EXISTS [s].[t]; ALTER TABLE s.t ADD c2 INT NULL; TRUNCATE TABLE s.t;\
             EXEC sp_rename N's.old', N'new'; ALTER TABLE s.t ALTER COLUMN c NVARCHAR(2) NULL; INSERT BULK [dbo].[t] ([a] int, [b] nvarchar(80) COLLATE Latin1_General_CI_AS) WITH (TABLOCK)",
        )
        .unwrap();
        assert_eq!(stmts.len(), 8);
        assert!(
            matches!(&stmts[6], Statement::AlterColumn { column, .. } if column.ty == SqlType::NVarChar(Some(2)))
        );
        let Statement::CreateTable { columns, .. } = &stmts[0] else {
            panic!("create table")
        };
        assert!(!columns[0].nullable);
        assert!(columns[2].nullable);
        assert_eq!(columns[2].ty, SqlType::NVarChar(None));
        assert!(matches!(&stmts[7], Statement::InsertBulk { columns, .. } if columns.len() == 2));
    }
}
