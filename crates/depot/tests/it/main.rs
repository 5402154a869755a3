//! depot's integration tests: the real server over real sockets, on SQLite and PostgreSQL.

mod helpers;

mod admin;
mod cli;
mod downloads;
mod feeds;
mod mail;
mod paid;
mod publish;
mod s3;
mod scaleout;
mod store;
