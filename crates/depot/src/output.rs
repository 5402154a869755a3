//! How commands print their results: lines or a table for people, JSON with `--json`; all of
//! it through [`write`], so that a closed pipe is a quiet success.

use std::io::Write;

use clap::Args;
use serde::Serialize;

/// Writes to stdout. When the reader has gone (`depot publish x.zip | head -1`), the command has
/// done its work and only its report is lost: the process exits 0 at once, as `cat` and `git`
/// do, rather than panicking with 101 and failing a `pipefail` job after a successful publish.
pub fn write(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write the output: {e}");
        std::process::exit(crate::exit::FAILURE.into());
    }
}

/// What every command takes besides its own arguments.
#[derive(Debug, Clone, Args)]
pub struct Output {
    /// Print the result as JSON (for scripts) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// An optional field as a table shows it: `-` when absent.
pub fn or_dash(v: &Option<impl ToString>) -> String {
    v.as_ref().map_or_else(|| "-".into(), ToString::to_string)
}

/// Prints rows under a header, columns padded to their widest cell.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        outln!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row);
    }
}

/// Prints `v` as JSON, or with `human` otherwise.
pub fn show<T: Serialize>(out: &Output, v: &T, human: impl FnOnce(&T)) {
    if out.json {
        outln!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    } else {
        human(v);
    }
}
