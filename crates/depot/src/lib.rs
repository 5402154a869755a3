//! The `depot` binary's library: configuration, startup and the command line, so that the
//! integration tests can start the real server in-process.

pub mod backups;
pub mod cli;
pub mod client;
pub mod config;
pub mod remote;
pub mod startup;
