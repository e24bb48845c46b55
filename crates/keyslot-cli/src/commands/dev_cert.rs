//! `keyslot dev-cert`: a self-signed certificate and key for trying HTTPS on one's own
//! machine. ECDSA P-256 (rcgen on ring), named for localhost, 127.0.0.1 and ::1 plus any
//! `--host`, valid 90 days so a forgotten one does not linger. Never for production: no
//! client trusts it unless told to.

use std::io::Write as _;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

use crate::cli::DevCertArgs;
use crate::exit::{CmdResult, Failure, OTHER, USAGE};
use crate::session_file::create_private;

const VALID_DAYS: i64 = 90;

/// `keyslot dev-cert`. With `--json`: `{"cert", "key", "expires_at"}` (RFC 3339).
pub fn dev_cert(as_json: bool, args: &DevCertArgs) -> CmdResult {
    let cert_path = args.out_dir.join("cert.pem");
    let key_path = args.out_dir.join("key.pem");
    for path in [&cert_path, &key_path] {
        if path.exists() {
            return Err(Failure::new(
                USAGE,
                format!(
                    "{} already exists: remove it or choose another --out-dir",
                    path.display()
                ),
            ));
        }
    }
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    names.extend(args.hosts.iter().cloned());
    let mut params = CertificateParams::new(names.clone())
        .map_err(|e| Failure::new(USAGE, format!("--host: not a host name or address: {e}")))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Keyslot development certificate");
    params.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(VALID_DAYS);
    let key = KeyPair::generate().map_err(|e| Failure::new(OTHER, format!("making a key: {e}")))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| Failure::new(OTHER, format!("signing the certificate: {e}")))?;

    std::fs::create_dir_all(&args.out_dir)?;
    let key_pem = zeroize::Zeroizing::new(key.serialize_pem());
    let mut key_file = create_private(&key_path)?;
    key_file.write_all(key_pem.as_bytes())?;
    key_file.sync_all()?;
    std::fs::write(&cert_path, cert.pem())?;
    eprintln!(
        "Wrote {} and {} (self-signed, {VALID_DAYS} days).\nServe HTTPS with:\n  keyslot serve --tls-cert {} --tls-key {}",
        cert_path.display(),
        key_path.display(),
        cert_path.display(),
        key_path.display()
    );
    if as_json {
        let expires_at = params
            .not_after
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| Failure::new(OTHER, e.to_string()))?;
        super::json(&serde_json::json!({
            "cert": cert_path,
            "key": key_path,
            "expires_at": expires_at,
            "hosts": names,
        }))?;
    }
    Ok(())
}
