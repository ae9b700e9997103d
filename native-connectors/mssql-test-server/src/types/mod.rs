//! SQL types and values: what the catalog stores and queries compute.

pub(crate) mod compare;
pub(crate) mod convert;
pub(crate) mod cp1252;
mod sql_type;
pub(crate) mod temporal;
mod value;

pub(crate) use sql_type::{SqlType, TypeArg};
pub(crate) use value::{Decimal, Value, pow10};
