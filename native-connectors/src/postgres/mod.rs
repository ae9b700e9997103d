//! PostgreSQL, so far: connections ([`connect`]) and its dialect on the runtime's SQL
//! publish layer ([`dialect`]). The `type: postgres` home and store (binary COPY both ways)
//! are not built yet, so the connector is not registered: nothing here is reachable from a
//! project until they are.

pub mod connect;
pub mod dialect;

#[cfg(test)]
mod tests;
