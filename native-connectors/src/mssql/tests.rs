//! Tests of the mssql connector against the TDS test server (see tests.rs).
