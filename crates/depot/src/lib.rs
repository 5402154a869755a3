//! The `depot` binary's library: configuration, startup and the command line, so that the
//! integration tests can start the real server in-process.

/// `println!` for a command's result: a reader that goes away (`depot … | head -1`) ends the
/// command quietly with success instead of a panic (see [`output::write`]).
macro_rules! outln {
    () => { $crate::output::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` for a command's result, like [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write(format_args!($($arg)*)) };
}

pub mod backups;
pub mod cli;
pub mod client;
pub mod config;
pub mod exit;
pub mod logging;
pub mod output;
pub mod remote;
pub mod startup;
