//! Multi-row statements whose text repeats, so each is parsed once per connection.
//!
//! A batch of N rows written as one `INSERT … VALUES (…), (…)` has a different text for every
//! N, and a text the connection has not seen is parsed again; SQLite's parser looks each `$k`
//! parameter up among those before it, so parsing is quadratic in the parameters (a 100-row
//! batch of download events cost 170,000 instructions per event to parse, more than serving
//! the download). Batches are therefore cut into chunks of a few fixed sizes, whose statements
//! the driver keeps prepared.

use std::sync::OnceLock;

/// The largest chunk. Binding is quadratic too (the driver asks SQLite each parameter's name,
/// found by a scan), so chunks stay small: 16 rows of 9 columns parse in about 100,000
/// instructions, once per connection, and bind in a few thousand per row.
pub(crate) const MAX_ROWS: usize = 16;

/// `items` in chunks of `MAX_ROWS`, then of the powers of two that make up the rest: at most
/// five different sizes, whatever the batch.
pub(crate) fn chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = if rest.len() >= MAX_ROWS {
            MAX_ROWS
        } else {
            // The largest power of two not above what is left.
            1 << (usize::BITS - 1 - rest.len().leading_zeros())
        };
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}

/// A multi-row `INSERT`, its text per chunk size made once for the process: building it for
/// every batch cost more than binding the rows (~9,000 instructions per download event when
/// events come one by one), and the driver finds its prepared statement by that text anyway.
pub(crate) struct Insert {
    /// Up to and including `VALUES `.
    head: &'static str,
    columns: usize,
    /// After the rows (` ON CONFLICT …`), or empty.
    tail: &'static str,
    /// The text for 1, 2, 4, 8 and 16 rows, the sizes `chunks` cuts.
    texts: [OnceLock<String>; CHUNK_SIZES],
}

/// 1, 2, 4, 8 and 16 rows.
const CHUNK_SIZES: usize = MAX_ROWS.trailing_zeros() as usize + 1;

impl Insert {
    pub(crate) const fn new(head: &'static str, columns: usize, tail: &'static str) -> Self {
        Insert {
            head,
            columns,
            tail,
            texts: [const { OnceLock::new() }; CHUNK_SIZES],
        }
    }

    /// The statement for a chunk of `rows` rows (a size `chunks` gives).
    pub(crate) fn sql(&'static self, rows: usize) -> &'static str {
        assert!(
            rows.is_power_of_two() && rows <= MAX_ROWS,
            "chunks are cut to powers of two up to {MAX_ROWS}, not {rows}"
        );
        self.texts[rows.trailing_zeros() as usize].get_or_init(|| {
            format!(
                "{}{}{}",
                self.head,
                placeholders(rows, self.columns),
                self.tail
            )
        })
    }
}

/// `($1, $2, …), ($k, …)`: `rows` tuples of `columns` parameters, numbered from 1.
fn placeholders(rows: usize, columns: usize) -> String {
    let row = |r: usize| {
        let params: Vec<String> = (1..=columns)
            .map(|c| format!("${}", r * columns + c))
            .collect();
        format!("({})", params.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_into_a_few_sizes_in_order() {
        let items: Vec<usize> = (0..200).collect();
        let sizes: Vec<usize> = chunks(&items).map(<[usize]>::len).collect();
        assert_eq!(sizes, [16; 12].into_iter().chain([8]).collect::<Vec<_>>());
        let again: Vec<usize> = chunks(&items).flatten().copied().collect();
        assert_eq!(again, items, "every item once, in order");
        let sizes: Vec<usize> = chunks(&items[..100]).map(<[usize]>::len).collect();
        assert_eq!(sizes, [16, 16, 16, 16, 16, 16, 4]);
        assert_eq!(chunks(&items[..1]).count(), 1);
        assert_eq!(chunks::<usize>(&[]).count(), 0);
        // Whatever the batch, only these sizes appear.
        for n in 0..300 {
            assert!(
                chunks(&items[..n.min(200)])
                    .all(|c| c.len().is_power_of_two() && c.len() <= MAX_ROWS)
            );
        }
    }

    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }

    #[test]
    fn an_insert_has_one_text_per_chunk_size() {
        static INSERT: Insert =
            Insert::new("INSERT INTO t (a, b) VALUES ", 2, " ON CONFLICT DO NOTHING");
        assert_eq!(
            INSERT.sql(2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            INSERT.sql(1),
            "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        );
        // Made once: the same text, not another copy.
        assert!(std::ptr::eq(INSERT.sql(16), INSERT.sql(16)));
        let items: Vec<usize> = (0..100).collect();
        for chunk in chunks(&items) {
            assert!(INSERT.sql(chunk.len()).matches('(').count() == chunk.len() + 1);
        }
    }
}
