//! One client connection: PRELOGIN, LOGIN7, then SQL batches, RPCs,
//! transaction-manager requests, bulk loads and attentions until it closes.
//!
//! Errors policy: any error aborts the rest of the batch and rolls back an
//! open transaction (as `SET XACT_ABORT ON` does), whether or not the client
//! set XACT_ABORT.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::TcpStream;
use tokio::sync::mpsc::Receiver;

use crate::engine::bulk::{BulkLoader, BulkTarget};
use crate::engine::catalog::column_index;
use crate::engine::database::{Txn, Workspace};
use crate::engine::expr::{Globals, Params};
use crate::engine::result::ResultSet;
use crate::engine::{self, Outcome, StatementEnv};
use crate::error::{ProtocolError, SqlError};
use crate::server::Shared;
use crate::sql::ast::{Expr, Statement};
use crate::sql::parse_batch;
use crate::tds::bulk::{BulkItem, ValueSpan, next_item, parse_metadata};
use crate::tds::packet::{self, Packet, ResponseWriter, ptype};
use crate::tds::reader::{DecodeError, Reader};
use crate::tds::rpc::{self, Procedure, proc_id};
use crate::tds::tokens::{self, cmd, done, env, token};
use crate::tds::wire_type::COLLATION;
use crate::tds::{batch_text, login, prelogin};
use crate::types::{SqlType, Value};

/// Program name in LOGINACK.
const PROGRAM_NAME: &str = "hygge TDS test server";
/// TDS 7.4.
const TDS_74: u32 = 0x7400_0004;

/// Serves one connection until it closes.
pub(crate) async fn run(stream: TcpStream, shared: Arc<Shared>, spid: u16) {
    let (read, write) = stream.into_split();
    let attention = Arc::new(AtomicBool::new(false));
    let mut packets = packet::spawn_reader(read, attention.clone());
    let mut session = Session {
        shared: shared.clone(),
        w: ResponseWriter::new(write, spid),
        spid,
        user: String::new(),
        database: "master".to_string(),
        txn: None,
        trancount: 0,
        fmtonly: false,
        nocount: false,
        rowcount: 0,
        pending_bulk: None,
        attention,
        acks_owed: 0,
        applocks: shared.db.begin(),
    };
    if let Err(e) = session.serve(&mut packets).await {
        tracing::debug!(spid, "session ended: {e}");
    }
    session.cleanup();
    shared.session_ended();
}

/// After INSERT BULK: where the data goes and the statement's own transaction.
struct PendingBulk {
    target: BulkTarget,
    implicit: Option<Txn>,
}

/// Whether a request ran in a batch or inside an RPC.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Batch,
    Rpc,
}

/// Why a statement stopped.
enum Stop {
    Sql(SqlError),
    Attention,
    Io(std::io::Error),
}

impl From<SqlError> for Stop {
    fn from(e: SqlError) -> Stop {
        Stop::Sql(e)
    }
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Stop {
        Stop::Io(e)
    }
}

struct Session {
    shared: Arc<Shared>,
    w: ResponseWriter,
    spid: u16,
    user: String,
    database: String,
    /// The explicit transaction (BEGIN TRAN … COMMIT).
    txn: Option<Txn>,
    trancount: u32,
    fmtonly: bool,
    nocount: bool,
    rowcount: u64,
    pending_bulk: Option<PendingBulk>,
    attention: Arc<AtomicBool>,
    /// Attention packets already answered while streaming.
    acks_owed: u32,
    /// The application locks the session owns (sp_getapplock with @LockOwner = 'Session'),
    /// released by sp_releaseapplock or when the session ends.
    applocks: Txn,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.cleanup();
    }
}

impl Session {
    fn cleanup(&mut self) {
        if let Some(t) = self.txn.take() {
            self.shared.db.rollback(t);
        }
        if let Some(p) = self.pending_bulk.take()
            && let Some(t) = p.implicit
        {
            self.shared.db.rollback(t);
        }
        self.trancount = 0;
        let applocks = std::mem::replace(&mut self.applocks, self.shared.db.begin());
        self.shared.db.rollback(applocks);
    }

    fn globals(&self) -> Globals {
        Globals {
            database: self.database.clone(),
            user: self.user.clone(),
            spid: self.spid,
            trancount: self.trancount,
            rowcount: self.rowcount,
            applocks: self
                .applocks
                .held()
                .iter()
                .filter_map(|k| k.strip_prefix("applock:").map(str::to_string))
                .collect(),
        }
    }

    async fn next_message(
        &mut self,
        packets: &mut Receiver<Packet>,
    ) -> Result<Option<(u8, Vec<u8>)>, ProtocolError> {
        let Some(first) = packets.recv().await else {
            return Ok(None);
        };
        let ty = first.ty;
        let mut last = first.is_last();
        let mut payload = first.payload;
        while !last {
            let Some(p) = packets.recv().await else {
                return Ok(None);
            };
            if p.ty == ptype::ATTENTION {
                continue;
            }
            last = p.is_last();
            payload.extend_from_slice(&p.payload);
        }
        Ok(Some((ty, payload)))
    }

    async fn serve(&mut self, packets: &mut Receiver<Packet>) -> Result<(), ProtocolError> {
        // PRELOGIN.
        let Some((ty, payload)) = self.next_message(packets).await? else {
            return Ok(());
        };
        if ty != ptype::PRELOGIN {
            return Err(ProtocolError::malformed(format!(
                "expected PRELOGIN, got packet type {ty}"
            )));
        }
        let request =
            prelogin::parse(&payload).map_err(|e| ProtocolError::malformed(e.to_string()))?;
        self.w.buf().extend_from_slice(&prelogin::response());
        self.w.finish().await?;
        if request.demands_encryption() {
            tracing::debug!(
                spid = self.spid,
                "client requires encryption; answered ENCRYPT_NOT_SUP"
            );
        }
        // LOGIN7.
        let Some((ty, payload)) = self.next_message(packets).await? else {
            return Ok(());
        };
        if ty != ptype::LOGIN7 {
            return Err(ProtocolError::malformed(format!(
                "expected LOGIN7 (encryption is not supported), got packet type {ty}"
            )));
        }
        let login = login::parse(&payload).map_err(|e| ProtocolError::malformed(e.to_string()))?;
        if !self.shared.login_ok(&login.user, &login.password) {
            tokens::message(self.w.buf(), &SqlError::login_failed(&login.user), "");
            tokens::done(self.w.buf(), token::DONE, done::ERROR, 0, 0);
            self.w.finish().await?;
            return Ok(());
        }
        self.login_response(&login).await?;

        loop {
            let Some(first) = packets.recv().await else {
                return Ok(());
            };
            match first.ty {
                ptype::ATTENTION => self.attention_packet().await?,
                ptype::BULK_LOAD => self.bulk_load(first, packets).await?,
                ty => {
                    let mut last = first.is_last();
                    let mut payload = first.payload;
                    while !last {
                        let Some(p) = packets.recv().await else {
                            return Ok(());
                        };
                        if p.ty == ptype::ATTENTION {
                            continue;
                        }
                        last = p.is_last();
                        payload.extend_from_slice(&p.payload);
                    }
                    self.abandon_pending_bulk();
                    match ty {
                        ptype::SQL_BATCH => {
                            let sql = batch_text(&payload)
                                .map_err(|e| ProtocolError::malformed(e.to_string()))?;
                            self.shared.record_sql(&sql);
                            self.run_batch(&sql, &Params::new(), Mode::Batch).await?;
                        }
                        ptype::RPC => self.rpc(&payload).await?,
                        ptype::TRANSACTION_MANAGER => self.transaction_manager(&payload).await?,
                        other => {
                            return Err(ProtocolError::malformed(format!(
                                "unsupported packet type {other}"
                            )));
                        }
                    }
                }
            }
        }
    }

    async fn login_response(&mut self, login: &login::Login) -> Result<(), ProtocolError> {
        self.user = login.user.clone();
        if !login.database.is_empty() {
            self.database = login.database.clone();
        }
        let tds_version = if (0x7000_0000..TDS_74).contains(&login.tds_version) {
            login.tds_version
        } else {
            TDS_74
        };
        let packet_size = match login.packet_size as usize {
            0 => packet::DEFAULT_PACKET,
            n => n.clamp(packet::MIN_PACKET, packet::MAX_PACKET),
        };
        let database = self.database.clone();
        let out = self.w.buf();
        tokens::env_change_text(out, env::DATABASE, &database, "master");
        tokens::message(
            out,
            &SqlError::new(5701, format!("Changed database context to '{database}'."))
                .with_class(0, 2),
            "",
        );
        tokens::env_change_bytes(out, env::SQL_COLLATION, &COLLATION, &[]);
        tokens::env_change_text(out, env::LANGUAGE, "us_english", "");
        tokens::message(
            out,
            &SqlError::new(5703, "Changed language setting to us_english.").with_class(0, 1),
            "",
        );
        tokens::login_ack(out, tds_version, PROGRAM_NAME);
        tokens::env_change_text(
            out,
            env::PACKET_SIZE,
            &packet_size.to_string(),
            &packet::DEFAULT_PACKET.to_string(),
        );
        tokens::done(out, token::DONE, done::FINAL, 0, 0);
        self.w.finish().await?;
        self.w.set_packet_size(packet_size);
        Ok(())
    }

    async fn attention_packet(&mut self) -> Result<(), ProtocolError> {
        if self.acks_owed > 0 {
            self.acks_owed -= 1;
            return Ok(());
        }
        self.attention.store(false, Ordering::SeqCst);
        tokens::done(self.w.buf(), token::DONE, done::ATTN, 0, 0);
        self.w.finish().await?;
        Ok(())
    }

    /// A client that sent INSERT BULK and then something else gives up the load.
    fn abandon_pending_bulk(&mut self) {
        if let Some(p) = self.pending_bulk.take()
            && let Some(t) = p.implicit
        {
            self.shared.db.rollback(t);
        }
    }

    // ----- RPC -----

    async fn rpc(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        let req = match rpc::parse(payload) {
            Ok(r) => r,
            Err(e) => {
                let err =
                    SqlError::new(8009, format!("The incoming RPC request is incorrect: {e}"));
                tokens::message(self.w.buf(), &err, "");
                tokens::done(self.w.buf(), token::DONEPROC, done::ERROR, 0, 0);
                self.w.finish().await?;
                return Ok(());
            }
        };
        match req.procedure.id() {
            Some(proc_id::EXECUTESQL) => {
                let mut it = req.params.into_iter();
                let stmt = match it.next().map(|p| p.value) {
                    Some(Value::String(s)) => s,
                    _ => {
                        let err = SqlError::new(
                            214,
                            "Procedure expects parameter '@statement' of type 'ntext/nchar/nvarchar'.",
                        );
                        return self.rpc_error(err).await;
                    }
                };
                let decl = match it.next().map(|p| p.value) {
                    Some(Value::String(s)) => s,
                    _ => String::new(),
                };
                let decl_names = declared_names(&decl);
                let mut params = Params::new();
                for (i, p) in it.enumerate() {
                    let name = if p.name.is_empty() {
                        decl_names.get(i).cloned().unwrap_or_default()
                    } else if p.name.starts_with('@') {
                        p.name.clone()
                    } else {
                        format!("@{}", p.name)
                    };
                    params.insert(name.to_lowercase(), (p.value, p.ty));
                }
                self.shared.record_sql(&stmt);
                self.run_batch(&stmt, &params, Mode::Rpc).await
            }
            Some(other) => {
                let err = SqlError::new(
                    2812,
                    format!(
                        "Could not find stored procedure '{}' (this test server supports sp_executesql).",
                        Procedure::Id(other).name()
                    ),
                );
                self.rpc_error(err).await
            }
            None => {
                // A named procedure: run it like EXEC name args.
                let name = req.procedure.name();
                let last = name
                    .rsplit('.')
                    .next()
                    .unwrap_or(&name)
                    .trim_matches(['[', ']'])
                    .to_ascii_lowercase();
                let args = req
                    .params
                    .into_iter()
                    .map(|p| {
                        let ty = p.ty.unwrap_or(SqlType::Int);
                        (
                            (!p.name.is_empty()).then_some(p.name),
                            Expr::Literal(p.value, ty),
                        )
                    })
                    .collect();
                let stmt = Statement::Exec {
                    procedure: last,
                    args,
                };
                self.run_statements(&[stmt], &Params::new(), Mode::Rpc)
                    .await
            }
        }
    }

    async fn rpc_error(&mut self, err: SqlError) -> Result<(), ProtocolError> {
        tokens::message(self.w.buf(), &err, "");
        tokens::done(self.w.buf(), token::DONEPROC, done::ERROR, 0, 0);
        self.w.finish().await?;
        Ok(())
    }

    // ----- transaction manager -----

    async fn transaction_manager(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        let mut r = Reader::new(payload);
        rpc::skip_all_headers(&mut r).map_err(|e| ProtocolError::malformed(e.to_string()))?;
        let request = r
            .u16()
            .map_err(|e| ProtocolError::malformed(e.to_string()))?;
        let result = match request {
            5 => {
                self.begin_tran();
                Ok(())
            }
            7 => self.commit_tran(),
            8 => self.rollback_tran(),
            9 => Ok(()),
            other => Err(SqlError::new(
                8525,
                format!(
                    "Transaction manager request {other} is not supported by this test server."
                ),
            )),
        };
        let status = match result {
            Ok(()) => done::FINAL,
            Err(e) => {
                tokens::message(self.w.buf(), &e, "");
                done::ERROR
            }
        };
        tokens::done(self.w.buf(), token::DONE, status, 0, 0);
        self.w.finish().await?;
        Ok(())
    }

    fn begin_tran(&mut self) {
        if self.trancount == 0 {
            let txn = self.shared.db.begin();
            tokens::env_change_bytes(self.w.buf(), env::BEGIN_TRAN, &txn.descriptor(), &[]);
            self.txn = Some(txn);
        }
        self.trancount += 1;
    }

    fn commit_tran(&mut self) -> Result<(), SqlError> {
        if self.trancount == 0 {
            return Err(SqlError::new(
                3902,
                "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.",
            ));
        }
        self.trancount -= 1;
        if self.trancount == 0
            && let Some(txn) = self.txn.take()
        {
            let desc = txn.descriptor();
            self.shared.db.commit(txn);
            tokens::env_change_bytes(self.w.buf(), env::COMMIT_TRAN, &[], &desc);
        }
        Ok(())
    }

    fn rollback_tran(&mut self) -> Result<(), SqlError> {
        if self.trancount == 0 {
            return Err(SqlError::new(
                3903,
                "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.",
            ));
        }
        self.rollback_open();
        Ok(())
    }

    /// Rolls back the explicit transaction, if any, telling the client.
    fn rollback_open(&mut self) {
        self.trancount = 0;
        if let Some(txn) = self.txn.take() {
            let desc = txn.descriptor();
            self.shared.db.rollback(txn);
            tokens::env_change_bytes(self.w.buf(), env::ROLLBACK_TRAN, &[], &desc);
        }
    }

    // ----- batches -----

    async fn run_batch(
        &mut self,
        sql: &str,
        params: &Params,
        mode: Mode,
    ) -> Result<(), ProtocolError> {
        match parse_batch(sql) {
            Ok(stmts) => self.run_statements(&stmts, params, mode).await,
            Err(e) => self.finish_with_error(e, mode).await,
        }
    }

    async fn run_statements(
        &mut self,
        stmts: &[Statement],
        params: &Params,
        mode: Mode,
    ) -> Result<(), ProtocolError> {
        let done_kind = match mode {
            Mode::Batch => token::DONE,
            Mode::Rpc => token::DONEINPROC,
        };
        for (i, stmt) in stmts.iter().enumerate() {
            let more = mode == Mode::Rpc || i + 1 < stmts.len();
            match self.statement(stmt, params, done_kind, more).await {
                Ok(()) => {}
                Err(Stop::Sql(e)) => return self.finish_with_error(e, mode).await,
                Err(Stop::Attention) => {
                    tokens::done(self.w.buf(), token::DONE, done::ATTN, 0, 0);
                    self.w.finish().await?;
                    return Ok(());
                }
                Err(Stop::Io(e)) => return Err(e.into()),
            }
        }
        match mode {
            Mode::Batch if stmts.is_empty() => {
                tokens::done(self.w.buf(), token::DONE, done::FINAL, 0, 0);
            }
            Mode::Batch => {}
            Mode::Rpc => {
                tokens::return_status(self.w.buf(), 0);
                tokens::done(self.w.buf(), token::DONEPROC, done::FINAL, 0, 0);
            }
        }
        self.w.finish().await?;
        Ok(())
    }

    async fn finish_with_error(&mut self, e: SqlError, mode: Mode) -> Result<(), ProtocolError> {
        tokens::message(self.w.buf(), &e, "");
        self.rollback_open();
        let kind = match mode {
            Mode::Batch => token::DONE,
            Mode::Rpc => token::DONEPROC,
        };
        tokens::done(self.w.buf(), kind, done::ERROR, 0, 0);
        self.w.finish().await?;
        Ok(())
    }

    fn write_done(&mut self, kind: u8, more: bool, cur_cmd: u16, rows: Option<u64>) {
        let mut status = if more { done::MORE } else { done::FINAL };
        if rows.is_some() && !self.nocount {
            status |= done::COUNT;
        }
        if self.txn.is_some() {
            status |= done::INXACT;
        }
        tokens::done(self.w.buf(), kind, status, cur_cmd, rows.unwrap_or(0));
    }

    async fn statement(
        &mut self,
        stmt: &Statement,
        params: &Params,
        kind: u8,
        more: bool,
    ) -> Result<(), Stop> {
        match stmt {
            Statement::Begin => {
                self.begin_tran();
                self.write_done(kind, more, cmd::OTHER, None);
            }
            Statement::Commit => {
                self.commit_tran()?;
                self.write_done(kind, more, cmd::OTHER, None);
            }
            Statement::Rollback => {
                self.rollback_tran()?;
                self.write_done(kind, more, cmd::OTHER, None);
            }
            Statement::SetFmtOnly(on) => {
                self.fmtonly = *on;
                self.write_done(kind, more, cmd::OTHER, None);
            }
            Statement::SetNoCount(on) => {
                self.nocount = *on;
                self.write_done(kind, more, cmd::OTHER, None);
            }
            Statement::SetOther => self.write_done(kind, more, cmd::OTHER, None),
            Statement::Use(db) => {
                let old = std::mem::replace(&mut self.database, db.clone());
                tokens::env_change_text(self.w.buf(), env::DATABASE, db, &old);
                tokens::message(
                    self.w.buf(),
                    &SqlError::new(5701, format!("Changed database context to '{db}'."))
                        .with_class(0, 1),
                    "",
                );
                self.write_done(kind, more, cmd::OTHER, None);
            }
            Statement::InsertBulk { table, columns } => {
                self.insert_bulk(table, columns).await?;
                self.write_done(kind, more, cmd::OTHER, None);
            }
            other => {
                let outcome = self.execute(other, params).await?;
                match outcome {
                    Outcome::Rows(rs) => {
                        let rows = self.stream(&rs).await?;
                        self.rowcount = rows;
                        self.write_done(kind, more, cmd::SELECT, Some(rows));
                    }
                    Outcome::Affected { cmd, rows } => {
                        self.rowcount = rows;
                        self.write_done(kind, more, cmd, Some(rows));
                    }
                    Outcome::Done(infos) => {
                        for info in &infos {
                            tokens::message(self.w.buf(), info, "");
                        }
                        self.rowcount = 0;
                        self.write_done(kind, more, cmd::OTHER, None);
                    }
                }
            }
        }
        Ok(())
    }

    /// sp_getapplock / sp_releaseapplock: waits for (or drops) a session-owned lock. The
    /// return code is not sent; a client reads the outcome with APPLOCK_MODE().
    async fn applock(
        &mut self,
        procedure: &str,
        args: &[(Option<String>, Expr)],
        params: &Params,
    ) -> Result<Outcome, Stop> {
        let globals = self.globals();
        let se = StatementEnv {
            params,
            globals: &globals,
            fmtonly: self.fmtonly,
        };
        let call = engine::applock_call(procedure, args, &se)?;
        let key = engine::applock_key(&call.resource);
        if procedure == "sp_getapplock" {
            self.shared
                .db
                .try_acquire(&mut self.applocks, &key, call.timeout)
                .await;
            Ok(Outcome::Done(Vec::new()))
        } else if self.shared.db.release_one(&mut self.applocks, &key) {
            Ok(Outcome::Done(Vec::new()))
        } else {
            Err(SqlError::new(
                1223,
                format!(
                    "Cannot release the application lock (Database Principal: 'public', Resource: '{}') because it is not currently held.",
                    call.resource
                ),
            )
            .into())
        }
    }

    /// Runs a data statement in the explicit transaction, or in its own.
    async fn execute(&mut self, stmt: &Statement, params: &Params) -> Result<Outcome, Stop> {
        if let Statement::Exec { procedure, args } = stmt
            && matches!(procedure.as_str(), "sp_getapplock" | "sp_releaseapplock")
        {
            return self.applock(procedure, args, params).await;
        }
        let keys = if self.fmtonly {
            Vec::new()
        } else {
            engine::lock_keys(stmt)
        };
        let shared = self.shared.clone();
        let globals = self.globals();
        let se = StatementEnv {
            params,
            globals: &globals,
            fmtonly: self.fmtonly,
        };
        match self.txn.as_mut() {
            Some(txn) => {
                shared.db.acquire(txn, &keys).await?;
                let mut ws = Workspace::new(&shared.db, txn);
                Ok(engine::execute(stmt, &mut ws, &se)?)
            }
            None => {
                let mut txn = shared.db.begin();
                if let Err(e) = shared.db.acquire(&mut txn, &keys).await {
                    shared.db.rollback(txn);
                    return Err(e.into());
                }
                let result = {
                    let mut ws = Workspace::new(&shared.db, &mut txn);
                    engine::execute(stmt, &mut ws, &se)
                };
                match result {
                    Ok(o) => {
                        shared.db.commit(txn);
                        Ok(o)
                    }
                    Err(e) => {
                        shared.db.rollback(txn);
                        Err(e.into())
                    }
                }
            }
        }
    }

    /// Streams a result set; returns the number of rows sent.
    async fn stream(&mut self, rs: &ResultSet) -> Result<u64, Stop> {
        rs.write_metadata(self.w.buf());
        let mut enc = rs.encoder();
        loop {
            let finished = enc.step(self.w.buf())?;
            self.w.flush_if_large().await?;
            if self.attention.swap(false, Ordering::SeqCst) {
                self.acks_owed += 1;
                return Err(Stop::Attention);
            }
            if finished {
                return Ok(enc.rows_written());
            }
        }
    }

    // ----- bulk load -----

    async fn insert_bulk(
        &mut self,
        table: &crate::sql::ast::ObjectName,
        columns: &[String],
    ) -> Result<(), Stop> {
        let shared = self.shared.clone();
        let key = engine::key_of(table);
        let mut implicit = match self.txn {
            Some(_) => None,
            None => Some(shared.db.begin()),
        };
        let explicit = implicit.is_none();
        let Some(txn) = self.txn.as_mut().or(implicit.as_mut()) else {
            return Err(SqlError::new(8525, "no transaction").into());
        };
        // Like SQL Server loading a heap, concurrent bulk loads into one table do not wait
        // for each other: outside an explicit transaction the table's lock is taken only
        // while the received rows are appended (see `bulk_load`).
        let checked = async {
            if explicit {
                shared.db.acquire(txn, std::slice::from_ref(&key)).await?;
            }
            let ws = Workspace::new(&shared.db, txn);
            let t = ws
                .table(&key)
                .ok_or_else(|| SqlError::invalid_object(&table.display()))?;
            for c in columns {
                if column_index(&t.columns, c).is_none() {
                    return Err(SqlError::invalid_column(c));
                }
            }
            Ok(BulkTarget {
                key: key.clone(),
                message_name: engine::message_name(
                    &self.database,
                    engine::schema_of(table),
                    &t.name,
                ),
                columns: t.columns.clone(),
                listed: columns.to_vec(),
            })
        }
        .await;
        match checked {
            Ok(target) => {
                self.pending_bulk = Some(PendingBulk { target, implicit });
                Ok(())
            }
            Err(e) => {
                if let Some(t) = implicit {
                    shared.db.rollback(t);
                }
                Err(e.into())
            }
        }
    }

    async fn bulk_load(
        &mut self,
        first: Packet,
        packets: &mut Receiver<Packet>,
    ) -> Result<(), ProtocolError> {
        let pending = self.pending_bulk.take();
        let fail_after = self.shared.take_bulk_failure();
        let mut eom = first.is_last();
        let mut buf = first.payload;
        let mut consumed = 0usize;
        let mut loader: Option<BulkLoader> = None;
        let mut client_columns = Vec::new();
        let mut spans: Vec<ValueSpan> = Vec::new();
        let mut error: Option<SqlError> = None;
        let mut finished = false;
        if pending.is_none() {
            error = Some(SqlError::new(
                4804,
                "Bulk load data was received without a preceding INSERT BULK statement.",
            ));
        }
        if let Some(n) = fail_after.filter(|n| *n == 0) {
            error = Some(injected_failure(n));
        }
        let mut target = pending.as_ref().map(|p| p.target.clone());
        loop {
            if error.is_none() && !finished {
                let mut r = Reader::new(&buf[consumed..]);
                let step: Result<(), DecodeError> = (|| {
                    if loader.is_none() {
                        let cols = parse_metadata(&mut r)?;
                        consumed += r.pos();
                        client_columns = cols.clone();
                        spans = vec![ValueSpan::default(); cols.len()];
                        match target.take().map(|t| BulkLoader::new(t, cols)) {
                            Some(Ok(l)) => loader = Some(l),
                            Some(Err(e)) => error = Some(e),
                            None => {}
                        }
                        r = Reader::new(&buf[consumed..]);
                    }
                    let Some(l) = loader.as_mut() else {
                        return Ok(());
                    };
                    loop {
                        let start = r.pos();
                        match next_item(&mut r, &client_columns, &mut spans) {
                            Ok(BulkItem::Row) => {
                                if let Err(e) = l.add_row(r.slice(), &spans) {
                                    error = Some(e);
                                    return Ok(());
                                }
                                if fail_after.is_some_and(|n| l.rows() >= n) {
                                    error = Some(injected_failure(l.rows()));
                                    return Ok(());
                                }
                            }
                            Ok(BulkItem::Done) => {
                                finished = true;
                                consumed += r.pos();
                                return Ok(());
                            }
                            Err(DecodeError::Incomplete) => {
                                consumed += start;
                                return Err(DecodeError::Incomplete);
                            }
                            Err(e) => return Err(e),
                        }
                    }
                })();
                match step {
                    Ok(()) => {}
                    Err(DecodeError::Incomplete) => {}
                    Err(DecodeError::Invalid(what)) => {
                        error = Some(SqlError::new(
                            4815,
                            format!("Received invalid bulk load data from the client: {what}"),
                        ));
                    }
                }
            }
            if eom {
                break;
            }
            let Some(p) = packets.recv().await else {
                return Ok(());
            };
            if p.ty == ptype::ATTENTION {
                continue;
            }
            eom = p.is_last();
            if error.is_none() && !finished {
                buf.drain(..consumed);
                consumed = 0;
                buf.extend_from_slice(&p.payload);
            }
        }
        // FreeTDS ends the data without a DONE token: the message end is the end.
        if error.is_none() && !finished && loader.is_some() && consumed == buf.len() {
            finished = true;
        }
        if error.is_none() && !finished {
            error = Some(SqlError::new(
                4832,
                "Bulk load: An unexpected end of file was encountered in the data file.",
            ));
        }
        let mut implicit = pending.and_then(|p| p.implicit);
        let result = match (error, loader) {
            (None, Some(l)) => {
                let rows = l.rows();
                let (target, staging) = l.finish();
                let shared = self.shared.clone();
                match self.txn.as_mut().or(implicit.as_mut()) {
                    Some(txn) => {
                        if let Err(e) = shared
                            .db
                            .acquire(txn, std::slice::from_ref(&target.key))
                            .await
                        {
                            tokens::message(self.w.buf(), &e, "");
                            self.rollback_open();
                            tokens::done(self.w.buf(), token::DONE, done::ERROR, 0, 0);
                            if let Some(t) = implicit {
                                self.shared.db.rollback(t);
                            }
                            self.w.finish().await?;
                            return Ok(());
                        }
                        let mut ws = Workspace::new(&shared.db, txn);
                        match ws.table_mut(&target.key) {
                            Some(t) => {
                                t.rows.append(staging);
                                Ok(rows)
                            }
                            None => Err(SqlError::invalid_object(&target.key)),
                        }
                    }
                    None => Err(SqlError::new(8525, "bulk load without a transaction")),
                }
            }
            (None, None) => Ok(0),
            (Some(e), _) => Err(e),
        };
        match result {
            Ok(rows) => {
                if let Some(t) = implicit {
                    self.shared.db.commit(t);
                }
                self.rowcount = rows;
                self.write_done(token::DONE, false, cmd::INSERT, Some(rows));
            }
            Err(e) => {
                if let Some(t) = implicit {
                    self.shared.db.rollback(t);
                }
                tokens::message(self.w.buf(), &e, "");
                self.rollback_open();
                tokens::done(self.w.buf(), token::DONE, done::ERROR, 0, 0);
            }
        }
        self.w.finish().await?;
        Ok(())
    }
}

fn injected_failure(rows: u64) -> SqlError {
    SqlError::new(
        50_000,
        format!(
            "Bulk load aborted by the test hook fail_next_bulk_load_after after receiving {rows} rows; no rows of this load were applied."
        ),
    )
}

/// Parameter names in an sp_executesql declaration (`@P1 int, @P2 nvarchar(10)`).
fn declared_names(decl: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0i32;
    for part in decl.split(|c: char| {
        if c == '(' {
            depth += 1;
        } else if c == ')' {
            depth -= 1;
        }
        c == ',' && depth == 0
    }) {
        if let Some(name) = part.split_whitespace().next() {
            names.push(name.to_string());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_names_skip_type_commas() {
        assert_eq!(
            declared_names("@P1 int,@P2 numeric(10,2), @P3 nvarchar(4000)"),
            vec!["@P1", "@P2", "@P3"]
        );
        assert!(declared_names("").is_empty());
    }
}
