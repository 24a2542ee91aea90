//! Go's `text/tabwriter` (as forked by docker/cli for `--format "table ..."`), which aligns
//! tab-terminated cells into columns using elastic tabstops.
//!
//! The semantics that matter for byte-identical tables:
//! * cells are *terminated* by `\t` (or `\v`); the text after the last tab of a line is not
//!   part of any column and is never padded, so lines carry no trailing spaces;
//! * a column is a run of consecutive lines that all have a terminated cell at that index;
//!   a line with fewer cells ends the column (a line with no tab at all ends every column);
//! * a column's width is `max(minwidth, widest cell + padding)`;
//! * widths are display widths (East Asian wide characters count 2, like go-runewidth).
//!
//! Docker formats tables with `NewWriter(out, 10, 1, 3, ' ', 0)`; see [`docker_table`].

/// Minimal cell width Docker uses, padding included.
pub const DOCKER_MINWIDTH: usize = 10;
/// Tab width Docker passes (only used when padding with tabs).
pub const DOCKER_TABWIDTH: usize = 1;
/// Padding Docker adds to the widest cell of a column.
pub const DOCKER_PADDING: usize = 3;

/// A terminated cell. (Go also records whether a cell ended in `\t` or `\v`; that only
/// matters for `DiscardEmptyColumns`, which Docker does not use.)
struct Cell {
    text: String,
    width: usize,
}

/// Aligns `text` like Go's `tabwriter.NewWriter(out, minwidth, tabwidth, padding, padchar, 0)`
/// followed by one `Write(text)` and `Flush()`.
pub fn align(
    text: &str,
    minwidth: usize,
    tabwidth: usize,
    padding: usize,
    padchar: char,
) -> String {
    let mut w = Writer {
        minwidth,
        tabwidth,
        padding,
        padchar,
        lines: vec![Vec::new()],
        cell: String::new(),
        out: String::with_capacity(text.len() + text.len() / 2),
    };
    for ch in text.chars() {
        match ch {
            '\t' | '\x0b' | '\n' | '\x0c' => {
                let ncells = w.terminate_cell();
                if ch == '\n' || ch == '\x0c' {
                    w.lines.push(Vec::new());
                    // A line with a single cell cannot affect later lines, so Go flushes
                    // there; a form feed always flushes.
                    if ch == '\x0c' || ncells == 1 {
                        w.flush();
                    }
                }
            }
            c => w.cell.push(c),
        }
    }
    w.flush();
    w.out
}

/// Aligns `text` with Docker's table settings (`10, 1, 3, ' ', 0`).
pub fn docker_table(text: &str) -> String {
    align(text, DOCKER_MINWIDTH, DOCKER_TABWIDTH, DOCKER_PADDING, ' ')
}

struct Writer {
    minwidth: usize,
    tabwidth: usize,
    padding: usize,
    padchar: char,
    lines: Vec<Vec<Cell>>,
    cell: String,
    out: String,
}

impl Writer {
    fn terminate_cell(&mut self) -> usize {
        let text = std::mem::take(&mut self.cell);
        let width = display_width(&text);
        let line = self.lines.last_mut();
        match line {
            Some(line) => {
                line.push(Cell { text, width });
                line.len()
            }
            None => {
                self.lines.push(vec![Cell { text, width }]);
                1
            }
        }
    }

    fn flush(&mut self) {
        if !self.cell.is_empty() {
            self.terminate_cell();
        }
        let mut widths = Vec::new();
        self.format(&mut widths, 0, self.lines.len());
        self.lines = vec![Vec::new()];
    }

    fn format(&mut self, widths: &mut Vec<usize>, mut line0: usize, line1: usize) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            // This line has a cell in `column`: print the lines before it, then find the
            // block of consecutive lines sharing the column and its width.
            self.write_lines(widths, line0, this);
            line0 = this;
            let mut width = self.minwidth;
            while this < line1 {
                let line = &self.lines[this];
                if column + 1 >= line.len() {
                    break;
                }
                width = width.max(line[column].width + self.padding);
                this += 1;
            }
            widths.push(width);
            self.format(widths, line0, this);
            widths.pop();
            line0 = this;
        }
        self.write_lines(widths, line0, line1);
    }

    fn write_lines(&mut self, widths: &[usize], line0: usize, line1: usize) {
        for i in line0..line1 {
            for (j, c) in self.lines[i].iter().enumerate() {
                self.out.push_str(&c.text);
                if let Some(&cellw) = widths.get(j) {
                    pad_into(&mut self.out, c.width, cellw, self.padchar, self.tabwidth);
                }
            }
            // The last buffered line is the unterminated one: no newline after it.
            if i + 1 != self.lines.len() {
                self.out.push('\n');
            }
        }
    }
}

fn pad_into(out: &mut String, textw: usize, cellw: usize, padchar: char, tabwidth: usize) {
    if padchar == '\t' {
        if tabwidth == 0 {
            return;
        }
        let cellw = cellw.div_ceil(tabwidth) * tabwidth;
        let n = cellw.saturating_sub(textw);
        out.extend(std::iter::repeat_n('\t', n.div_ceil(tabwidth)));
        return;
    }
    out.extend(std::iter::repeat_n(padchar, cellw.saturating_sub(textw)));
}

/// Terminal display width, following go-runewidth's defaults closely enough for table
/// alignment: control characters and combining marks are 0, East Asian wide and fullwidth
/// characters (CJK, Hangul, fullwidth forms, most emoji) are 2, everything else 1.
pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let u = c as u32;
    if u < 0x20 || (0x7f..0xa0).contains(&u) {
        return 0;
    }
    if matches!(u, 0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x1AB0..=0x1AFF
        | 0x1DC0..=0x1DFF | 0x200B..=0x200F | 0x20D0..=0x20FF | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F)
    {
        return 0;
    }
    if matches!(u, 0x1100..=0x115F | 0x231A..=0x231B | 0x2329..=0x232A | 0x23E9..=0x23EC
        | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xA960..=0xA97F | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE10..=0xFE19 | 0xFE30..=0xFE6F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F | 0x1F680..=0x1F6FF | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD)
    {
        return 2;
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_images_header() {
        // `docker images` with no images: every header cell is narrower than minwidth 10
        // except those reaching it with padding 3 ("IMAGE ID" = 8 + 3 = 11, "CREATED" = 7
        // + 3 = 10); the last cell is not padded.
        let out = docker_table("REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n");
        assert_eq!(out, "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n");
    }

    #[test]
    fn docker_images_rows() {
        let out = docker_table(
            "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n\
             busybox\tlatest\tbeae173ccac6\t2 years ago\t1.24MB\n\
             registry.example.com/team/app\tv1.2.3-rc1\t0123456789ab\t3 weeks ago\t512MB\n",
        );
        let want = "\
REPOSITORY                      TAG          IMAGE ID       CREATED       SIZE
busybox                         latest       beae173ccac6   2 years ago   1.24MB
registry.example.com/team/app   v1.2.3-rc1   0123456789ab   3 weeks ago   512MB
";
        assert_eq!(out, want);
    }

    #[test]
    fn three_columns_short_and_long() {
        let out = docker_table("a\tb\tc\nlonger-than-ten\tx\ty\n");
        assert_eq!(
            out,
            "a                 b         c\nlonger-than-ten   x         y\n"
        );
    }

    #[test]
    fn last_cell_is_not_padded_and_trailing_text_kept() {
        assert_eq!(docker_table("a\tb"), "a         b");
        assert_eq!(docker_table("a\t\n"), "a         \n");
    }

    #[test]
    fn column_blocks_end_at_lines_without_that_cell() {
        // Go's package documentation example: b and c are in different columns.
        let out = align(
            "aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n",
            0,
            8,
            1,
            '.',
        );
        assert_eq!(out, "aaaa.bbb.d\naa...b...dd\na....\naa...cccc.eee\n");
    }

    #[test]
    fn single_cell_line_flushes() {
        let out = docker_table("x\ty\nno tabs here at all\nlong-long-long\tz\n");
        assert_eq!(
            out,
            "x         y\nno tabs here at all\nlong-long-long   z\n"
        );
    }

    #[test]
    fn empty_cells_are_padded() {
        assert_eq!(docker_table("\tb\naaaa\tc\n"), "          b\naaaa      c\n");
    }

    #[test]
    fn wide_characters_count_double() {
        let out = docker_table("名前名前名前\tx\nab\ty\n");
        // 6 wide chars = width 12, + 3 padding = 15 columns.
        assert_eq!(out, "名前名前名前   x\nab             y\n");
    }

    #[test]
    fn tab_padding() {
        assert_eq!(
            align("a\tb\naaaaaaaaa\tc\n", 0, 8, 1, '\t'),
            "a\t\tb\naaaaaaaaa\tc\n"
        );
    }
}
