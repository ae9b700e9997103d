//! Errors: SQL Server errors sent to clients as ERROR tokens, and the
//! protocol errors that end a connection.

/// A SQL Server error as the client sees it in an ERROR token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Msg {number}, Level {class}, State {state}: {message}")]
pub(crate) struct SqlError {
    /// Error number (`208`, `18456`, …).
    pub(crate) number: i32,
    /// Severity class.
    pub(crate) class: u8,
    /// Error state.
    pub(crate) state: u8,
    /// Message text.
    pub(crate) message: String,
}

impl SqlError {
    /// An error with class 16, state 1.
    pub(crate) fn new(number: i32, message: impl Into<String>) -> SqlError {
        SqlError {
            number,
            class: 16,
            state: 1,
            message: message.into(),
        }
    }

    /// Same error with a different class and state.
    pub(crate) fn with_class(mut self, class: u8, state: u8) -> SqlError {
        self.class = class;
        self.state = state;
        self
    }

    /// 102: the statement is not understood (or not supported by this server).
    pub(crate) fn syntax(near: &str, statement: &str) -> SqlError {
        let excerpt: String = statement.trim().chars().take(160).collect();
        SqlError::new(
            102,
            format!(
                "Incorrect syntax near '{near}'. (hygge TDS test server cannot run: {excerpt})"
            ),
        )
        .with_class(15, 1)
    }

    /// 208: unknown table or view.
    pub(crate) fn invalid_object(name: &str) -> SqlError {
        SqlError::new(208, format!("Invalid object name '{name}'."))
    }

    /// 207: unknown column.
    pub(crate) fn invalid_column(name: &str) -> SqlError {
        SqlError::new(207, format!("Invalid column name '{name}'."))
    }

    /// 2714: an object with that name exists.
    pub(crate) fn already_exists(name: &str) -> SqlError {
        SqlError::new(
            2714,
            format!("There is already an object named '{name}' in the database."),
        )
        .with_class(16, 6)
    }

    /// 515: NULL into a NOT NULL column.
    pub(crate) fn null_not_allowed(column: &str, table: &str) -> SqlError {
        SqlError::new(
            515,
            format!(
                "Cannot insert the value NULL into column '{column}', table '{table}'; column does not allow nulls. INSERT fails."
            ),
        )
        .with_class(16, 2)
    }

    /// 2628: a string or binary value longer than its column.
    pub(crate) fn truncation(table: &str, column: &str, truncated: &str) -> SqlError {
        SqlError::new(
            2628,
            format!(
                "String or binary data would be truncated in table '{table}', column '{column}'. Truncated value: '{truncated}'."
            ),
        )
    }

    /// 8115: arithmetic overflow converting a value to a type.
    pub(crate) fn overflow(from: &str, to: &str) -> SqlError {
        SqlError::new(
            8115,
            format!("Arithmetic overflow error converting {from} to data type {to}."),
        )
        .with_class(16, 8)
    }

    /// 3701: DROP TABLE of a missing table.
    pub(crate) fn cannot_drop(name: &str) -> SqlError {
        SqlError::new(
            3701,
            format!(
                "Cannot drop the table '{name}', because it does not exist or you do not have permission."
            ),
        )
        .with_class(11, 5)
    }

    /// 4902 and friends: ALTER / TRUNCATE / CREATE INDEX on a missing table.
    pub(crate) fn cannot_find_object(number: i32, name: &str) -> SqlError {
        SqlError::new(
            number,
            format!(
                "Cannot find the object \"{name}\" because it does not exist or you do not have permissions."
            ),
        )
    }

    /// 15248: sp_rename of a missing object.
    pub(crate) fn rename_missing() -> SqlError {
        SqlError::new(
            15248,
            "Either the parameter @objname is ambiguous or the claimed @objtype (OBJECT) is wrong.",
        )
        .with_class(11, 1)
    }

    /// 137: an unknown `@variable`.
    pub(crate) fn undeclared_variable(name: &str) -> SqlError {
        SqlError::new(137, format!("Must declare the scalar variable \"{name}\"."))
            .with_class(15, 2)
    }

    /// 18456: bad user name or password.
    pub(crate) fn login_failed(user: &str) -> SqlError {
        SqlError::new(18456, format!("Login failed for user '{user}'.")).with_class(14, 1)
    }

    /// 1222: waited too long for another session's transaction.
    pub(crate) fn lock_timeout() -> SqlError {
        SqlError::new(1222, "Lock request time out period exceeded.")
    }
}

/// Why a connection ends abnormally.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProtocolError {
    /// The socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The client sent bytes that are not valid TDS.
    #[error("malformed TDS message: {0}")]
    Malformed(String),
}

impl ProtocolError {
    /// A malformed-message error.
    pub(crate) fn malformed(what: impl Into<String>) -> ProtocolError {
        ProtocolError::Malformed(what.into())
    }
}
