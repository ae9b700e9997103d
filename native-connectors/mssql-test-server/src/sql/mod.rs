//! The T-SQL subset: tokens, syntax tree, parser.

pub(crate) mod ast;
mod lexer;
mod parser;

pub(crate) use parser::parse_batch;
