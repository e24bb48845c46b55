//! The dotenv files `keyslot run --env-file` reads.
//!
//! Syntax, one variable a line: `NAME=value` or `export NAME=value`; blank lines and lines
//! starting with `#` are skipped. An unquoted value is trimmed, and ends at ` #` (a
//! comment). In `'single quotes'` everything is literal; in `"double quotes"` `\n`, `\r`,
//! `\t`, `\"`, `\\` and `\$` are escapes. Quoted values may span lines. No `${VAR}`
//! expansion: a value is what the file says, so the file cannot pull in other variables
//! of the environment by accident.
//!
//! Errors name the line and what is wrong with it, never its value: a dotenv file often
//! holds literal secrets beside the references.

use zeroize::Zeroizing;

/// One variable, and the line it starts on (1-based).
pub struct Entry {
    /// The variable's name.
    pub name: String,
    /// Its value (a `ks://` reference or a literal).
    pub value: Zeroizing<String>,
    /// Where it starts, for messages.
    pub line: usize,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Entry {{ name: {}, line: {} }}", self.name, self.line)
    }
}

/// A syntax error: the line, and what is wrong (never the value).
#[derive(Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub what: &'static str,
}

/// Whether `name` can be an environment variable's name here: a letter or `_`, then
/// letters, digits or `_`.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parse a dotenv file's text.
pub fn parse(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let mut entries = Vec::new();
    let mut line = 1;
    let mut rest = text;
    while !rest.is_empty() {
        let (this, next) = rest.split_once('\n').unwrap_or((rest, ""));
        let trimmed = this.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            rest = next;
            line += 1;
            continue;
        }
        let start = line;
        let err = |what| SyntaxError { line: start, what };
        let statement = rest.trim_start();
        let statement = match statement.strip_prefix("export") {
            Some(after) if after.starts_with([' ', '\t']) => after.trim_start_matches([' ', '\t']),
            _ => statement,
        };
        let (name, after) = statement
            .split_once('=')
            .filter(|(n, _)| !n.contains('\n'))
            .ok_or_else(|| err("expected NAME=value"))?;
        let name = name.trim_end_matches([' ', '\t']);
        if !is_name(name) {
            return Err(err(
                "the name must be letters, digits and _, not starting with a digit",
            ));
        }
        let after = after.trim_start_matches([' ', '\t']);
        let (value, remainder) = match after.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let (value, consumed) = quoted(&after[1..], quote).ok_or_else(|| {
                    err(if quote == '"' {
                        "the double quote is never closed"
                    } else {
                        "the single quote is never closed"
                    })
                })?;
                let tail = &after[1 + consumed..];
                let (tail_line, next) = tail.split_once('\n').unwrap_or((tail, ""));
                let tail_line = tail_line.trim();
                if !(tail_line.is_empty() || tail_line.starts_with('#')) {
                    return Err(err("unexpected text after the closing quote"));
                }
                line += after[..1 + consumed].matches('\n').count();
                (value, next)
            }
            _ => {
                let (raw, next) = after.split_once('\n').unwrap_or((after, ""));
                let raw = raw.strip_suffix('\r').unwrap_or(raw);
                let raw = match raw.find([' ', '\t']).and_then(|_| comment_start(raw)) {
                    Some(hash) => &raw[..hash],
                    None => raw,
                };
                (Zeroizing::new(raw.trim().to_owned()), next)
            }
        };
        entries.push(Entry {
            name: name.to_owned(),
            value,
            line: start,
        });
        rest = remainder;
        line += 1;
    }
    Ok(entries)
}

/// Where an unquoted value's comment starts: a `#` after a space or tab.
fn comment_start(raw: &str) -> Option<usize> {
    raw.char_indices()
        .zip(raw.chars().skip(1))
        .find(|((_, c), next)| (*c == ' ' || *c == '\t') && *next == '#')
        .map(|((i, _), _)| i + 1)
}

/// A quoted value's text (without its quotes) and the bytes it took, closing quote
/// included; `None` if the quote is never closed.
fn quoted(s: &str, quote: char) -> Option<(Zeroizing<String>, usize)> {
    let mut value = Zeroizing::new(String::new());
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Some((value, i + 1)),
            '\\' if quote == '"' => {
                let (_, escaped) = chars.next()?;
                match escaped {
                    'n' => value.push('\n'),
                    'r' => value.push('\r'),
                    't' => value.push('\t'),
                    '"' | '\\' | '$' => value.push(escaped),
                    other => {
                        value.push('\\');
                        value.push(other);
                    }
                }
            }
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String, usize)> {
        parse(text)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .into_iter()
            .map(|e| (e.name, e.value.to_string(), e.line))
            .collect()
    }

    #[test]
    fn the_usual_dotenv_forms_parse() {
        let text = "# a comment\n\
                    \n\
                    DB=ks://work/db/password\n\
                    export  API = ks://work/api # the API key\n\
                    PLAIN=hello world\n\
                    HASH=a#b\n\
                    SQ='no $escapes \\n here' # trailing\n\
                    DQ=\"tab\\tquote\\\" dollar\\$ \\q\"\n\
                    MULTI=\"first\n\
                    second\"\n\
                    EMPTY=\n\
                    CRLF=value\r\n\
                    \t  INDENTED=yes\n\
                    LAST=no newline";
        let got = pairs(text);
        let want: Vec<(String, String, usize)> = [
            ("DB", "ks://work/db/password", 3),
            ("API", "ks://work/api", 4),
            ("PLAIN", "hello world", 5),
            ("HASH", "a#b", 6),
        ]
        .iter()
        .map(|(n, v, l)| ((*n).to_owned(), (*v).to_owned(), *l))
        .collect();
        assert_eq!(got.len(), 11, "{got:?}");
        assert_eq!(got[..4], want[..]);
        assert!(parse("SINGLE='it''s'").is_err(), "text after the quote");
        let find = |n: &str| {
            got.iter()
                .find(|(name, _, _)| name == n)
                .map(|(_, v, l)| (v.clone(), *l))
                .unwrap_or_else(|| panic!("{n} missing"))
        };
        assert_eq!(find("SQ").0, "no $escapes \\n here");
        assert_eq!(find("DQ").0, "tab\tquote\" dollar$ \\q");
        assert_eq!(find("MULTI"), ("first\nsecond".to_owned(), 9));
        assert_eq!(find("EMPTY"), (String::new(), 11));
        assert_eq!(find("CRLF").0, "value");
        assert_eq!(find("INDENTED"), ("yes".to_owned(), 13));
        assert_eq!(find("LAST"), ("no newline".to_owned(), 14));
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line) in [
            ("A=1\nnot a variable\n", 2),
            ("A=1\n\n1BAD=x\n", 3),
            ("A=\"never closed\nB=2\n", 1),
            ("A='x' y\n", 1),
            ("BAD NAME=x", 1),
            ("export=x\nexport\n", 2),
        ] {
            let e = parse(text)
                .err()
                .unwrap_or_else(|| panic!("{text:?} parsed"));
            assert_eq!(e.line, line, "{text:?}: {e:?}");
        }
        assert_eq!(pairs("export=x")[0].0, "export", "a variable named export");
    }
}
