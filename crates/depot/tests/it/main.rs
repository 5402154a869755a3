//! depot's integration tests: the real server over real sockets, on SQLite and PostgreSQL.

mod helpers;

mod feeds;
mod downloads;
mod publish;
mod cli;
mod s3;
