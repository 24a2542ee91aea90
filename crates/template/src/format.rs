//! Docker's formatter semantics for a `--format` value (docker/cli
//! `cli/command/formatter/formatter.go`).

use serde_json::Value;

use crate::{tabwriter, Template, TemplateError};

/// How a command prints its rows, decided from the `--format` flag.
#[derive(Debug, Clone)]
pub enum Format {
    /// `table ...`: a header row then one row per item, aligned into columns.
    Table {
        /// The row template (the text after `table`).
        template: Template,
        /// Whether to print the header row (Docker always does for tables).
        header: bool,
    },
    /// Any other template: each row rendered and followed by a newline, no header.
    Raw(Template),
    /// `json`: each row as one compact JSON object per line (`{{json .}}`).
    Json,
}

const TABLE: &str = "table";

/// Docker's `preFormat`: trim spaces, and turn the two-character sequences `\t` and `\n`
/// into a tab and a newline, so that `--format 'table {{.ID}}\t{{.Name}}'` works from a
/// shell without `$'...'` quoting.
fn pre_format(s: &str) -> String {
    s.trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n")
}

impl Format {
    /// Interprets a `--format` value.
    ///
    /// * `None` or `""`: the command's default table (`default_table`, with or without its
    ///   `table` prefix);
    /// * `"table"`: the default table;
    /// * `"table X"` (anything starting with `table`): a table with template `X`;
    /// * `"json"`: one JSON object per line;
    /// * anything else: a raw template, one rendering per row, no header.
    pub fn parse(opt: Option<&str>, default_table: &str) -> Result<Format, TemplateError> {
        let s = opt.unwrap_or("");
        let s = if s.is_empty() || s == TABLE {
            if default_table.starts_with(TABLE) {
                default_table
            } else {
                return Ok(Format::Table {
                    template: Template::parse(&pre_format(default_table))?,
                    header: true,
                });
            }
        } else {
            s
        };
        if s == "json" {
            return Ok(Format::Json);
        }
        if let Some(rest) = s.strip_prefix(TABLE) {
            return Ok(Format::Table {
                template: Template::parse(&pre_format(rest))?,
                header: true,
            });
        }
        Ok(Format::Raw(Template::parse(&pre_format(s))?))
    }

    /// Whether this is a table format.
    pub fn is_table(&self) -> bool {
        matches!(self, Format::Table { .. })
    }

    /// Renders `rows`.
    ///
    /// Tables: the header row is the template executed against `headers` (an object
    /// mapping field names such as `"Repository"` to labels such as `"REPOSITORY"`) with
    /// Docker's header functions (`json`, `upper`, `truncate`, ... return the label
    /// unchanged; a field missing from `headers` prints `<no value>` as in Docker, and an
    /// error while rendering the header keeps what was rendered so far, since Docker
    /// ignores it). Then each row, all aligned by [`tabwriter::docker_table`]. The header
    /// is printed even when there are no rows.
    ///
    /// Raw: each row rendered then a newline. Json: `{{json .}}` per row.
    pub fn render(&self, rows: &[Value], headers: &Value) -> Result<String, TemplateError> {
        match self {
            Format::Table { template, header } => {
                let mut text = String::new();
                if *header {
                    text.push_str(&template.render_header(headers));
                    text.push('\n');
                }
                for row in rows {
                    text.push_str(&template.render(row)?);
                    text.push('\n');
                }
                Ok(tabwriter::docker_table(&text))
            }
            Format::Raw(template) => {
                let mut out = String::new();
                for row in rows {
                    out.push_str(&template.render(row)?);
                    out.push('\n');
                }
                Ok(out)
            }
            Format::Json => {
                let mut out = String::new();
                for row in rows {
                    out.push_str(&crate::exec::to_json(row));
                    out.push('\n');
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEFAULT: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

    fn headers() -> Value {
        json!({"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID",
               "CreatedSince": "CREATED", "Size": "SIZE"})
    }

    fn rows() -> Vec<Value> {
        vec![
            json!({"Repository": "busybox", "Tag": "latest", "ID": "beae173ccac6",
                   "CreatedSince": "2 years ago", "Size": "1.24MB"}),
            json!({"Repository": "alpine", "Tag": "3.19", "ID": "05455a08881e",
                   "CreatedSince": "5 months ago", "Size": "7.38MB"}),
        ]
    }

    fn render(opt: Option<&str>) -> String {
        Format::parse(opt, DEFAULT)
            .unwrap()
            .render(&rows(), &headers())
            .unwrap()
    }

    #[test]
    fn default_and_table_keyword_give_default_table() {
        let want = "\
REPOSITORY   TAG       IMAGE ID       CREATED        SIZE
busybox      latest    beae173ccac6   2 years ago    1.24MB
alpine       3.19      05455a08881e   5 months ago   7.38MB
";
        assert_eq!(render(None), want);
        assert_eq!(render(Some("")), want);
        assert_eq!(render(Some("table")), want);
    }

    #[test]
    fn default_without_table_prefix() {
        let f = Format::parse(None, "{{.Tag}}\t{{.Size}}").unwrap();
        assert!(f.is_table());
        assert_eq!(
            f.render(&rows(), &headers()).unwrap(),
            "TAG       SIZE\nlatest    1.24MB\n3.19      7.38MB\n"
        );
    }

    #[test]
    fn custom_table_with_escaped_tabs() {
        assert_eq!(
            render(Some("table {{.Repository}}\\t{{.Size}}")),
            "REPOSITORY   SIZE\nbusybox      1.24MB\nalpine       7.38MB\n"
        );
    }

    #[test]
    fn header_functions_return_labels() {
        assert_eq!(
            render(Some("table {{.Repository | upper}}\\t{{truncate .ID 4}}\\t{{json .Tag}}")),
            "REPOSITORY   IMAGE ID   TAG\nBUSYBOX      beae       \"latest\"\nALPINE       0545       \"3.19\"\n"
        );
    }

    #[test]
    fn header_missing_field_prints_no_value() {
        assert_eq!(
            render(Some("table {{.Repository}}\\t{{.Digest}}")),
            "REPOSITORY   <no value>\nbusybox      <no value>\nalpine       <no value>\n"
        );
    }

    #[test]
    fn header_error_keeps_partial_header() {
        // `pad` is not a header function: on a label it works, `len` of a label too, but
        // an error in the header is swallowed like Docker does.
        assert_eq!(
            Format::parse(Some("table {{.Repository}}\\t{{index .Tag 99}}"), DEFAULT)
                .unwrap()
                .render(&[], &headers())
                .unwrap(),
            "REPOSITORY   \n"
        );
    }

    #[test]
    fn empty_table_still_has_header() {
        let f = Format::parse(None, DEFAULT).unwrap();
        assert_eq!(
            f.render(&[], &headers()).unwrap(),
            "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"
        );
    }

    #[test]
    fn raw_and_json() {
        assert_eq!(
            render(Some("{{.Repository}}:{{.Tag}}")),
            "busybox:latest\nalpine:3.19\n"
        );
        assert_eq!(render(Some("  {{.Tag}}\\n ")), "latest\n\n3.19\n\n");
        let f = Format::parse(Some("json"), DEFAULT).unwrap();
        assert!(matches!(f, Format::Json));
        assert_eq!(
            f.render(&[json!({"A": "<b>&", "N": 1})], &headers())
                .unwrap(),
            "{\"A\":\"<b>&\",\"N\":1}\n"
        );
        // `tablefoo` is a table, as Docker's prefix test makes it.
        assert!(Format::parse(Some("table{{.ID}}"), DEFAULT)
            .unwrap()
            .is_table());
        assert!(!Format::parse(Some("{{json .}}"), DEFAULT)
            .unwrap()
            .is_table());
    }

    #[test]
    fn errors() {
        let e = Format::parse(Some("{{.Foo"), DEFAULT).unwrap_err();
        assert_eq!(e.to_string(), "template: :1: unclosed action");
        let f = Format::parse(Some("{{.Repository.X}}"), DEFAULT).unwrap();
        let e = f.render(&rows(), &headers()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "template: :1:2: executing \"\" at <.Repository.X>: can't evaluate field X in type string"
        );
    }
}
