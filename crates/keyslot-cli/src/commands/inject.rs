//! `keyslot inject`: a template's `{{ ks://VAULT/ITEM[/FIELD] }}` references replaced by
//! their values, for configuration files that cannot read the environment.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use serde_json::json;
use zeroize::Zeroizing;

use super::reference::{Reference, Resolver, SCHEME, in_context};
use super::{json, remote};
use crate::cli::InjectArgs;
use crate::exit::{CmdResult, Failure, INVALID, OTHER, USAGE};
use crate::session_file::create_private;

/// A piece of a template: text to copy, or a reference to replace.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Reference { text: &'a str, line: usize },
}

/// Split a template into text and `{{ ks://… }}` references (spaces and tabs inside the
/// braces optional). Braces around anything else (`{{ .Values.x }}`, `{{name}}`) are
/// text: the template may be one for another tool too.
fn pieces(template: &str) -> CmdResult<Vec<Piece<'_>>> {
    let mut out = Vec::new();
    let mut rest = template;
    let mut line = 1;
    while let Some(open) = rest.find("{{") {
        let inside = rest[open + 2..].trim_start_matches([' ', '\t']);
        if !inside.starts_with(SCHEME) {
            out.push(Piece::Text(&rest[..open + 2]));
            line += rest[..open + 2].matches('\n').count();
            rest = &rest[open + 2..];
            continue;
        }
        out.push(Piece::Text(&rest[..open]));
        line += rest[..open].matches('\n').count();
        let end = inside
            .find(|c: char| c.is_whitespace() || c == '}')
            .unwrap_or(inside.len());
        let text = &inside[..end];
        let after = inside[end..].trim_start_matches([' ', '\t']);
        let Some(after) = after.strip_prefix("}}") else {
            return Err(Failure::new(
                INVALID,
                format!("line {line}: {{{{ {text} is not closed by }}}} on the same line"),
            ));
        };
        out.push(Piece::Reference { text, line });
        rest = after;
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// `keyslot inject`.
pub async fn inject(addr: &str, as_json: bool, args: &InjectArgs) -> CmdResult {
    // Refuse before reading anything: the answer would not change.
    if let Some(path) = &args.output
        && !args.force
        && path.exists()
    {
        return Err(exists(path));
    }
    let template = read_template(args.input.as_deref())?;
    let pieces = pieces(&template)?;
    // Every reference parses before any is resolved, and every one resolves before
    // anything is written: a half-rendered configuration file is worse than none.
    let mut parsed = Vec::new();
    for piece in &pieces {
        if let Piece::Reference { text, line } = piece {
            let reference = Reference::parse(text)
                .map_err(|e| Failure::new(INVALID, format!("line {line}: {}", e.message)))?;
            parsed.push((reference, *text, *line));
        }
    }
    let mut values = Vec::with_capacity(parsed.len());
    if !parsed.is_empty() {
        let mut resolver = Resolver::new(remote(addr).await?);
        for (reference, text, line) in &parsed {
            let value = resolver
                .text(reference)
                .await
                .map_err(|e| in_context(e, &format!("line {line}: {text}; nothing was written")))?;
            values.push(value);
        }
    }
    let mut rendered = Zeroizing::new(String::with_capacity(template.len()));
    let mut next = values.iter();
    for piece in &pieces {
        match piece {
            Piece::Text(t) => rendered.push_str(t),
            Piece::Reference { .. } => {
                // One value was resolved per reference, in order.
                let value = next
                    .next()
                    .ok_or_else(|| Failure::new(OTHER, "internal: a reference was not resolved"))?;
                rendered.push_str(value);
            }
        }
    }
    match &args.output {
        None if as_json => {
            json(&json!({"rendered": rendered.as_str(), "references": values.len()}))
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(rendered.as_bytes())?;
            out.flush()?;
            Ok(())
        }
        Some(path) => {
            write_private(path, rendered.as_bytes(), args.force)?;
            if as_json {
                json(&json!({"output": path.display().to_string(), "references": values.len()}))
            } else {
                eprintln!(
                    "Wrote {} with {} value(s) (mode 0600). It holds them in plaintext: delete it when done.",
                    path.display(),
                    values.len()
                );
                Ok(())
            }
        }
    }
}

fn exists(path: &Path) -> Failure {
    Failure::new(
        USAGE,
        format!(
            "{} exists: give --force to replace it; nothing was written",
            path.display()
        ),
    )
}

/// The template from a file, or from standard input for `-` or no `--input`.
fn read_template(input: Option<&Path>) -> CmdResult<String> {
    match input {
        Some(path) if path != Path::new("-") => std::fs::read_to_string(path).map_err(|e| {
            Failure::new(
                USAGE,
                format!("cannot read the template {}: {e}", path.display()),
            )
        }),
        _ => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| {
                Failure::new(
                    USAGE,
                    format!("cannot read the template from standard input: {e}"),
                )
            })?;
            Ok(text)
        }
    }
}

/// Write `bytes` to `path`, mode 0600 from the first byte. Without `force` the file must
/// not exist. With it, the bytes go to a new private file beside `path` that is then
/// renamed over it: the old file's mode (perhaps readable by all) is not inherited, and a
/// reader never sees half a file.
fn write_private(path: &Path, bytes: &[u8], force: bool) -> CmdResult {
    if !force {
        let mut file = create_private(path).map_err(|e| {
            if path.exists() {
                exists(path)
            } else {
                Failure::new(USAGE, format!("cannot create {}: {e}", path.display()))
            }
        })?;
        file.write_all(bytes)?;
        file.sync_all()?;
        return Ok(());
    }
    let write = |to: &Path| -> CmdResult {
        let mut file = create_private(to)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(())
    };
    let temp = temp_beside(path)?;
    let done = write(&temp).and_then(|()| Ok(std::fs::rename(&temp, path)?));
    if done.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    done.map_err(|e| Failure::new(USAGE, format!("cannot write {}: {e}", path.display())))
}

/// A name for a temporary file in `path`'s directory that does not exist yet.
fn temp_beside(path: &Path) -> CmdResult<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| Failure::new(USAGE, format!("{} is not a file name", path.display())))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".keyslot-{}-{nanos}", std::process::id()));
    Ok(path.with_file_name(temp_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_with_or_without_spaces() {
        let t = "a: {{ks://v/i}}\nb: {{  ks://v/i/f\t}} c\n{{ .Values.x }} {{name}} {{\nd: {{ ks://w/x }}";
        let got = pieces(t).unwrap_or_else(|e| panic!("{e}"));
        let refs: Vec<_> = got
            .iter()
            .filter_map(|p| match p {
                Piece::Reference { text, line } => Some((*text, *line)),
                Piece::Text(_) => None,
            })
            .collect();
        assert_eq!(refs, [("ks://v/i", 1), ("ks://v/i/f", 2), ("ks://w/x", 4)]);
        let text: String = got
            .iter()
            .map(|p| match p {
                Piece::Text(t) => *t,
                Piece::Reference { .. } => "<>",
            })
            .collect();
        assert_eq!(text, "a: <>\nb: <> c\n{{ .Values.x }} {{name}} {{\nd: <>");
    }

    #[test]
    fn an_unclosed_reference_is_an_error_naming_its_line() {
        for (t, line) in [
            ("x\n{{ ks://v/i\n}}", 2),
            ("{{ks://v/i extra}}", 1),
            ("{{ ks://v/i }", 1),
        ] {
            let e = pieces(t).err().unwrap_or_else(|| panic!("{t:?} parsed"));
            assert_eq!(e.code, INVALID);
            assert!(
                e.message.starts_with(&format!("line {line}:")) && e.message.contains("ks://v/i"),
                "{}",
                e.message
            );
        }
    }
}
