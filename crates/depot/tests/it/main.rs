//! depot's integration tests: the real server over real sockets, on SQLite and PostgreSQL.

mod helpers;

mod account;
mod admin;
mod audit;
mod backup;
mod browser;
mod cli;
mod composer;
mod connections;
mod console;
mod downloads;
mod faults;
mod feeds;
mod joomla;
mod limits;
mod mail;
mod metrics;
mod openapi;
mod paid;
mod publish;
mod releases;
mod rollouts;
mod s3;
mod sales;
mod scaleout;
mod shared_keys;
mod signing;
mod statistics;
mod store;
mod tauri;
mod webhooks;
mod wordpress;
