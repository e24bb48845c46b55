//! `ks://VAULT/ITEM[/FIELD]` references and the one resolver that `keyslot read`,
//! `keyslot run` and `keyslot inject` share, so a reference means the same thing to all
//! three: same parsing, same name-or-id lookup, same errors and exit codes.

use std::collections::HashMap;

use keyslot_client::{ItemSummary, Vault};
use serde_json::Value;
use zeroize::Zeroizing;

use super::{Remote, no_item, pick_item, pick_vault};
use crate::exit::{CmdResult, Failure, NOT_FOUND, USAGE};

/// What every reference starts with; a value that does not is not a reference.
pub const SCHEME: &str = "ks://";

/// A parsed `ks://VAULT/ITEM[/FIELD]`.
#[derive(Debug, PartialEq, Eq)]
pub struct Reference {
    vault: String,
    item: String,
    field: Option<String>,
}

impl Reference {
    /// Parse; segments may use %XX escapes (e.g. %2F for a `/` inside a name).
    ///
    /// The error repeats `text`: a reference names where a secret is, it is not one.
    pub fn parse(text: &str) -> CmdResult<Self> {
        let bad = || {
            Failure::new(
                USAGE,
                format!(
                    "{text:?} is not a reference: expected ks://VAULT/ITEM or ks://VAULT/ITEM/FIELD"
                ),
            )
        };
        let rest = text.strip_prefix(SCHEME).ok_or_else(bad)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let decode = |s: &str| percent_decode(s).filter(|d| !d.is_empty()).ok_or_else(bad);
        match parts.as_slice() {
            [v, i] => Ok(Self {
                vault: decode(v)?,
                item: decode(i)?,
                field: None,
            }),
            [v, i, f] => Ok(Self {
                vault: decode(v)?,
                item: decode(i)?,
                field: Some(decode(f)?),
            }),
            _ => Err(bad()),
        }
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Resolves references for one command, asking the server as little as it can: the vault
/// list once, each vault's item list once, each item once, however many references (a
/// template naming `ks://work/db/user` and `ks://work/db/password` reads `db` once).
///
/// Not `Debug`: it holds the values it has read.
pub struct Resolver {
    client: Remote,
    vaults: Option<Vec<Vault>>,
    items: HashMap<String, Vec<ItemSummary>>,
    values: HashMap<(String, String), (String, Value)>,
    /// (vault id, name) → item id, for items found by their blind index.
    indexed: HashMap<(String, String), String>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver").finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver speaking as `client`.
    pub fn new(client: Remote) -> Self {
        Self {
            client,
            vaults: None,
            items: HashMap::new(),
            values: HashMap::new(),
            indexed: HashMap::new(),
        }
    }

    /// The value a reference names, as stored (a string, or any JSON value).
    pub async fn value(&mut self, reference: &Reference) -> CmdResult<Value> {
        let vaults = match &self.vaults {
            Some(v) => v.clone(),
            None => {
                let listed = self.client.vaults().await?;
                self.vaults.insert(listed).clone()
            }
        };
        let vault = pick_vault(vaults, &reference.vault)?;
        // An end-to-end caller finds the item by its name's blind index: one name
        // downloaded and opened, not the vault's whole listing. An id (or a name the index
        // does not know) falls back to the listing.
        let by_name = (vault.id.clone(), reference.item.clone());
        if let Some(item_id) = self.indexed.get(&by_name) {
            return self.field_of(&vault.id, item_id, &vault, reference);
        }
        if !self.items.contains_key(&vault.id)
            && let Some(Some(found)) = self.client.indexed_item(&vault.id, &reference.item).await?
        {
            let key = (vault.id.clone(), found.id.clone());
            self.values.insert(key, (found.name, found.value));
            self.indexed.insert(by_name, found.id.clone());
            return self.field_of(&vault.id, &found.id, &vault, reference);
        }
        if !self.items.contains_key(&vault.id) {
            let listed = self.client.items(&vault.id).await?;
            self.items.insert(vault.id.clone(), listed);
        }
        let items = self.items.get(&vault.id).map_or(&[][..], Vec::as_slice);
        let summary = pick_item(items, &vault, &reference.item)?
            .ok_or_else(|| no_item(&vault, &reference.item))?;
        let key = (vault.id.clone(), summary.id.clone());
        if !self.values.contains_key(&key) {
            let full = self.client.item(&vault.id, &summary.id).await?;
            self.values.insert(key.clone(), (full.name, full.value));
        }
        self.field_of(&vault.id, &summary.id, &vault, reference)
    }

    /// The field (or the whole value) `reference` names of an item already read.
    fn field_of(
        &self,
        vault_id: &str,
        item_id: &str,
        vault: &Vault,
        reference: &Reference,
    ) -> CmdResult<Value> {
        let key = (vault_id.to_owned(), item_id.to_owned());
        let Some((name, value)) = self.values.get(&key) else {
            // Inserted by the caller before this is called.
            return Err(no_item(vault, &reference.item));
        };
        match &reference.field {
            None => Ok(value.clone()),
            Some(field) => match value {
                Value::Object(map) => map.get(field).cloned().ok_or_else(|| {
                    Failure::new(NOT_FOUND, format!("item {name:?} has no field {field:?}"))
                }),
                _ => Err(Failure::new(
                    NOT_FOUND,
                    format!("item {name:?} is not an object, so it has no field {field:?}"),
                )),
            },
        }
    }

    /// The text a script sees for a reference: a string as is, anything else as JSON.
    pub async fn text(&mut self, reference: &Reference) -> CmdResult<Zeroizing<String>> {
        Ok(text_of(self.value(reference).await?))
    }
}

/// A value as a script sees it: a string as is, anything else as compact JSON.
pub fn text_of(value: Value) -> Zeroizing<String> {
    Zeroizing::new(match value {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// `failure` with `context` (which variable, which template line, which reference) in
/// front of its message; the exit code stays the cause's.
pub fn in_context(failure: Failure, context: &str) -> Failure {
    Failure::new(failure.code, format!("{context}: {}", failure.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_with_escapes_and_fields() {
        let r = Reference::parse("ks://work/stripe/key").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r,
            Reference {
                vault: "work".into(),
                item: "stripe".into(),
                field: Some("key".into())
            }
        );
        let r = Reference::parse("ks://a%2Fb/c%20d").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.vault.as_str(), r.item.as_str(), r.field),
            ("a/b", "c d", None)
        );
        for bad in [
            "work/stripe",
            "ks://work",
            "ks://w/i/f/x",
            "ks:///i",
            "ks://w/%zz",
            "ks://w/i/",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_print_as_strings_or_json() {
        assert_eq!(text_of(Value::String("a b".into())).as_str(), "a b");
        assert_eq!(
            text_of(serde_json::json!({"k": [1, true]})).as_str(),
            r#"{"k":[1,true]}"#
        );
    }
}
