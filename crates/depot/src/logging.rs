//! Log lines: tracing-subscriber's formats for every event, except the access log's one line per
//! request, which is written here directly.
//!
//! Measured with callgrind (bench/README.md), tracing-subscriber's formatter spent about 9,000
//! instructions on each access line (a calendar timestamp computed afresh, ANSI-style wrappers
//! even with colours off, every field through `Debug`), a seventh of a cached feed's whole cost.
//! The access line has a fixed shape, so it is written with the same layout as the format it
//! stands in for (`text`: tracing's "full" format, `json`: its JSON format) from a timestamp
//! whose date and time of day are formatted once per second.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::Settings;

/// The access log's target (see `depot_web`'s `observe`).
const ACCESS_TARGET: &str = "depot::access";

/// Logs go to stderr through a writer thread, so a request never waits on the terminal or a
/// pipe; the returned guard writes out what is queued when it is dropped (at exit).
pub fn init_tracing(settings: &Settings) -> tracing_appender::non_blocking::WorkerGuard {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.filter));
    // Not lossy: under a flood the request path waits rather than dropping log lines. The
    // writer thread flushes whenever it has written every queued line, so lines reach stderr
    // as soon as it is idle, and under load many go out in one write (one per line measured
    // as a tenth of a cached feed's throughput, bench/README.md).
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer);
    let _ = if settings.log.format == "json" {
        builder
            .json()
            .map_event_format(|inner| WithAccessLines {
                inner,
                layout: Layout::Json,
            })
            .try_init()
    } else {
        builder
            .map_event_format(|inner| WithAccessLines {
                inner,
                layout: Layout::Text,
            })
            .try_init()
    };
    guard
}

/// How access lines are laid out: like the format of the other lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Text,
    Json,
}

/// An event format that writes access lines itself and hands every other event to `inner`.
struct WithAccessLines<F> {
    inner: F,
    layout: Layout,
}

impl<S, N, F> FormatEvent<S, N> for WithAccessLines<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // On a terminal, lines are coloured by tracing's own format.
        if event.metadata().target() != ACCESS_TARGET || writer.has_ansi_escapes() {
            return self.inner.format_event(ctx, writer, event);
        }
        write_access_line(&mut writer, self.layout, SystemTime::now(), event)
    }
}

/// The access line of `event` at `now`, laid out as `layout`.
fn write_access_line(
    out: &mut dyn fmt::Write,
    layout: Layout,
    now: SystemTime,
    event: &Event<'_>,
) -> fmt::Result {
    let mut fields = AccessFields {
        out,
        layout,
        first: true,
        result: Ok(()),
    };
    match layout {
        Layout::Text => {
            write_timestamp(fields.out, now)?;
            fields.out.write_str("  INFO depot::access: ")?;
            event.record(&mut fields);
            fields.result?;
            fields.out.write_char('\n')
        }
        Layout::Json => {
            fields.out.write_str("{\"timestamp\":\"")?;
            write_timestamp(fields.out, now)?;
            fields.out.write_str("\",\"level\":\"INFO\",\"fields\":{")?;
            event.record(&mut fields);
            fields.result?;
            fields.out.write_str("},\"target\":\"depot::access\"}\n")
        }
    }
}

/// RFC 3339 in UTC with microseconds, as tracing's own timestamps: `2026-12-05T03:29:25.123456Z`.
/// The part up to the seconds changes once a second, so each thread keeps the last one.
fn write_timestamp(out: &mut dyn fmt::Write, now: SystemTime) -> fmt::Result {
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    SECOND.with_borrow_mut(|(at, text)| {
        if *at != secs {
            let t = time::OffsetDateTime::from_unix_timestamp(secs as i64)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            text.clear();
            write!(
                text,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )?;
            *at = secs;
        }
        out.write_str(text)
    })?;
    // Six digits, zero-padded.
    let micros = 1_000_000 + since.subsec_micros();
    out.write_str(&itoa::Buffer::new().format(micros)[1..])?;
    out.write_char('Z')
}

/// Writes an access event's fields: `name=value` separated by spaces (text), or JSON members.
struct AccessFields<'a> {
    out: &'a mut dyn fmt::Write,
    layout: Layout,
    first: bool,
    result: fmt::Result,
}

impl AccessFields<'_> {
    fn name(&mut self, field: &Field) -> fmt::Result {
        let separator = if std::mem::take(&mut self.first) {
            ""
        } else {
            match self.layout {
                Layout::Text => " ",
                Layout::Json => ",",
            }
        };
        self.out.write_str(separator)?;
        match self.layout {
            Layout::Text => {
                self.out.write_str(field.name())?;
                self.out.write_char('=')
            }
            Layout::Json => {
                self.out.write_char('"')?;
                self.out.write_str(field.name())?;
                self.out.write_str("\":")
            }
        }
    }

    fn number(&mut self, field: &Field, value: u64) -> fmt::Result {
        self.name(field)?;
        self.out.write_str(itoa::Buffer::new().format(value))
    }

    fn string(&mut self, field: &Field, value: &str) -> fmt::Result {
        self.name(field)?;
        match self.layout {
            Layout::Text => self.out.write_str(value),
            Layout::Json => {
                self.out.write_char('"')?;
                write_json_escaped(self.out, value)?;
                self.out.write_char('"')
            }
        }
    }
}

impl Visit for AccessFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_ok() {
            self.result = self.string(field, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.result.is_ok() {
            self.result = self.number(field, value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.result.is_ok() {
            self.result = self
                .name(field)
                .and_then(|()| self.out.write_str(itoa::Buffer::new().format(value)));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_ok() {
            self.result = self.string(field, &format!("{value:?}"));
        }
    }
}

/// `value` as the inside of a JSON string.
fn write_json_escaped(out: &mut dyn fmt::Write, value: &str) -> fmt::Result {
    let mut rest = value;
    while let Some(at) = rest.find(|c: char| c == '"' || c == '\\' || c < ' ') {
        out.write_str(&rest[..at])?;
        let c = rest[at..].chars().next().unwrap_or(' ');
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c => write!(out, "\\u{:04x}", c as u32)?,
        }
        rest = &rest[at + c.len_utf8()..];
    }
    out.write_str(rest)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    /// Collects what a subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines tracing-subscriber's own `format` and depot's access writer produce for the
    /// same access event.
    fn both(layout: Layout) -> (String, String) {
        let theirs = Captured::default();
        let ours = Captured::default();
        let emit = || {
            tracing::info!(
                target: "depot::access",
                method = "GET",
                path = "/updates/com_x.xml",
                status = 200u64,
                us = 42u64,
                id = "7f3c\"\\",
            );
        };
        let plain = tracing_subscriber::fmt().with_ansi(false).without_time();
        match layout {
            Layout::Text => {
                let w = theirs.clone();
                tracing::subscriber::with_default(
                    plain.with_writer(move || w.clone()).finish(),
                    emit,
                );
            }
            Layout::Json => {
                let w = theirs.clone();
                tracing::subscriber::with_default(
                    plain.json().with_writer(move || w.clone()).finish(),
                    emit,
                );
            }
        }
        let w = ours.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || w.clone());
        match layout {
            Layout::Text => tracing::subscriber::with_default(
                subscriber
                    .map_event_format(|inner| WithAccessLines { inner, layout })
                    .finish(),
                emit,
            ),
            Layout::Json => tracing::subscriber::with_default(
                subscriber
                    .json()
                    .map_event_format(|inner| WithAccessLines { inner, layout })
                    .finish(),
                emit,
            ),
        }
        let text = |c: Captured| String::from_utf8(c.0.lock().unwrap().clone()).unwrap();
        (text(theirs), text(ours))
    }

    #[test]
    fn access_lines_look_like_tracings_own_text_lines() {
        let (theirs, ours) = both(Layout::Text);
        // tracing quotes strings given as `&str`; depot writes them bare, as `%value` would.
        assert_eq!(
            theirs,
            " INFO depot::access: method=\"GET\" path=\"/updates/com_x.xml\" status=200 us=42 id=\"7f3c\\\"\\\\\"\n"
        );
        let (stamp, rest) = ours.split_once("  INFO ").expect("a level");
        assert_eq!(
            rest,
            "depot::access: method=GET path=/updates/com_x.xml status=200 us=42 id=7f3c\"\\\n"
        );
        assert_eq!(stamp.len(), "2026-12-05T03:29:25.123456Z".len(), "{stamp}");
        assert!(
            time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{stamp}"
        );
    }

    #[test]
    fn json_access_lines_are_tracings_own_json_lines() {
        let (theirs, ours) = both(Layout::Json);
        let theirs: serde_json::Value = serde_json::from_str(&theirs).expect(&theirs);
        let mut ours: serde_json::Value = serde_json::from_str(&ours).expect(&ours);
        let stamp = ours["timestamp"].take();
        ours.as_object_mut().unwrap().remove("timestamp");
        assert_eq!(ours, theirs);
        assert_eq!(ours["fields"]["id"], "7f3c\"\\");
        let stamp = stamp.as_str().unwrap();
        assert!(
            time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{stamp}"
        );
    }

    #[test]
    fn timestamps_are_utc_with_microseconds() {
        let at = |secs: u64, micros: u64| {
            let mut s = String::new();
            write_timestamp(
                &mut s,
                UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros),
            )
            .unwrap();
            s
        };
        assert_eq!(at(0, 5), "1970-01-01T00:00:00.000005Z");
        assert_eq!(at(1_764_905_365, 123_456), "2025-12-05T03:29:25.123456Z");
        // The second's cached text changes with the second.
        assert_eq!(at(1_764_905_366, 999_999), "2025-12-05T03:29:26.999999Z");
        assert_eq!(at(951_782_400, 0), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut s = String::new();
        write_json_escaped(&mut s, "a\"b\\c\nd\u{1}é").unwrap();
        assert_eq!(s, "a\\\"b\\\\c\\nd\\u0001é");
    }
}
