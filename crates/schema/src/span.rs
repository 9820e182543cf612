//! Byte spans into the schema source, and turning them into lines and columns.

use serde::Serialize;

/// A half-open byte range `start..end` into the source text.
///
/// Every node of the syntax tree, every IR item and every diagnostic carries one,
/// so that any later stage can point back at the exact text a user wrote. Offsets are
/// 32-bit (schemas are far below 4 GiB; `check` refuses larger input), which halves the
/// size of every token and node that carries a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        let offset = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        Span { start: offset(start), end: offset(end) }
    }

    /// The start offset as a `usize`, for indexing.
    pub fn lo(self) -> usize {
        self.start as usize
    }

    /// The end offset as a `usize`, for indexing.
    pub fn hi(self) -> usize {
        self.end as usize
    }

    /// The byte range, for slicing the source.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    pub fn slice(self, source: &str) -> &str {
        source.get(self.range()).unwrap_or("")
    }
}

/// Maps byte offsets to 1-based line and column numbers (columns count characters).
pub struct LineIndex<'a> {
    source: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(source: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { source, line_starts }
    }

    /// 1-based `(line, column)` of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let column = self.source.get(start..offset).map_or(offset - start, |s| s.chars().count());
        (line + 1, column + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let index = LineIndex::new("ab\ncd\n\né x");
        assert_eq!(index.line_col(0), (1, 1));
        assert_eq!(index.line_col(1), (1, 2));
        assert_eq!(index.line_col(3), (2, 1));
        assert_eq!(index.line_col(7), (4, 1));
        assert_eq!(index.line_col(10), (4, 3));
    }
}
