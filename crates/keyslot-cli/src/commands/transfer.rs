//! `keyslot export` and `keyslot import`: a vault as JSON lines `{"name": …, "value": …}`.

use std::io::{BufRead as _, BufReader, BufWriter, IsTerminal as _, Write as _};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use super::{json, remote, vault};
use crate::cli::{ExportArgs, ImportArgs};
use crate::exit::{CmdResult, Failure, INVALID, USAGE};
use crate::session_file::create_private;

/// A progress bar on stderr when it is a terminal, shown only for work that lasts.
fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} ({eta} left)") {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    bar
}

/// `keyslot export`. The items are JSON lines whether or not `--json` is given; with it
/// and `--output`, the summary is JSON on standard output too.
pub async fn export(addr: &str, as_json: bool, args: &ExportArgs) -> CmdResult {
    let client = remote(addr).await?;
    let v = vault(&client, &args.vault).await?;
    let items = client.items(&v.id).await?;
    let mut out: Box<dyn std::io::Write> = match &args.output {
        Some(path) => {
            eprintln!(
                "Warning: writing the plaintext of {} item(s) from {:?} to {}. Anyone who can read that file can read them; delete it when done.",
                items.len(),
                v.name,
                path.display()
            );
            let file = create_private(path).map_err(|e| {
                Failure::new(
                    USAGE,
                    format!(
                        "cannot create {}: {e} (it must not exist yet)",
                        path.display()
                    ),
                )
            })?;
            Box::new(BufWriter::new(file))
        }
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let bar = progress(items.len(), "exporting");
    for summary in &items {
        let item = client.item(&v.id, &summary.id).await?;
        let line = json!({"name": item.name, "value": item.value});
        writeln!(out, "{line}")?;
        bar.inc(1);
    }
    out.flush()?;
    bar.finish_and_clear();
    eprintln!("Exported {} item(s) from {}.", items.len(), v.name);
    if let (true, Some(path)) = (as_json, &args.output) {
        return json(&json!({
            "vault_id": v.id,
            "vault": v.name,
            "exported": items.len(),
            "output": path.display().to_string(),
        }));
    }
    Ok(())
}

/// `keyslot import`.
pub async fn import(addr: &str, as_json: bool, args: &ImportArgs) -> CmdResult {
    let client = remote(addr).await?;
    let v = vault(&client, &args.vault).await?;
    let reader: Box<dyn std::io::BufRead> = match &args.input {
        Some(path) => Box::new(BufReader::new(std::fs::File::open(path).map_err(|e| {
            Failure::new(USAGE, format!("cannot open {}: {e}", path.display()))
        })?)),
        None => Box::new(BufReader::new(std::io::stdin().lock())),
    };
    // Parse everything first: a malformed line stops the import before anything is written.
    let mut entries = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Value = serde_json::from_str(&line).map_err(|e| {
            Failure::new(
                INVALID,
                format!("line {}: not JSON ({e}); nothing was imported", n + 1),
            )
        })?;
        let name = parsed["name"]
            .as_str()
            .ok_or_else(|| {
                Failure::new(
                    INVALID,
                    format!("line {}: no \"name\" string; nothing was imported", n + 1),
                )
            })?
            .to_owned();
        let value = parsed.get("value").cloned().ok_or_else(|| {
            Failure::new(
                INVALID,
                format!("line {}: no \"value\"; nothing was imported", n + 1),
            )
        })?;
        entries.push((name, value));
    }
    let existing = client.items(&v.id).await?;
    let bar = progress(entries.len(), "importing");
    let (mut created, mut updated) = (0usize, 0usize);
    for (name, value) in &entries {
        match existing.iter().find(|i| &i.name == name) {
            Some(item) => {
                client
                    .update_item(&v.id, &item.id, name, value, item.version)
                    .await?;
                updated += 1;
            }
            None => {
                client.create_item(&v.id, name, value).await?;
                created += 1;
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    eprintln!(
        "Imported into {}: {created} created, {updated} updated.",
        v.name
    );
    if as_json {
        return json(&json!({
            "vault_id": v.id,
            "vault": v.name,
            "created": created,
            "updated": updated,
        }));
    }
    Ok(())
}
