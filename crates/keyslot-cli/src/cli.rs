//! Command-line arguments. Every command's `--help` carries an example.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Keyslot keeps each user's sensitive data encrypted under keys that only their own
/// credentials (password, recovery code, session, API token) can open.
///
/// User commands talk to the server at KEYSLOT_ADDR (default http://127.0.0.1:8470) with
/// KEYSLOT_TOKEN when it is set, otherwise with the session saved by `keyslot login`.
///
/// Exit codes: 0 ok, 1 usage, 2 not found, 3 authentication or permission, 4 conflict,
/// 5 invalid input, 6 server unavailable, 10 other; `keyslot run` exits with its command's code.
#[derive(Debug, Parser)]
#[command(name = "keyslot", version, about, long_about)]
pub struct Cli {
    /// Server address for user commands.
    #[arg(
        long,
        global = true,
        env = "KEYSLOT_ADDR",
        default_value = "http://127.0.0.1:8470"
    )]
    pub addr: String,
    /// Also trust this PEM certificate (a private CA, or `keyslot dev-cert`'s) when the
    /// address is https://; the system's roots stay trusted.
    #[arg(long, global = true, env = "KEYSLOT_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Print JSON on standard output instead of text, for every command: lists, what was
    /// created, changed or read, and summaries. Messages stay on standard error. Not for
    /// `run` (the output is its command's) or `completions`.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the JSON API.
    ///
    /// With no flags: creates ./keyslot-data (SQLite database and seal key, mode 0600) and
    /// listens on 127.0.0.1:8470.
    ///
    /// Example: keyslot serve --listen 127.0.0.1:9000 --data-dir /var/lib/keyslot
    Serve(ServeArgs),
    /// Make a self-signed certificate and key for trying HTTPS locally.
    ///
    /// Writes cert.pem and key.pem (mode 0600) for localhost, 127.0.0.1 and ::1, valid 90
    /// days. Browsers and clients will not trust it until told to: for production use a
    /// certificate from your CA (e.g. Let's Encrypt).
    ///
    /// Example: keyslot dev-cert --out-dir ./tls && keyslot serve --tls-cert tls/cert.pem --tls-key tls/key.pem
    DevCert(DevCertArgs),
    /// Apply pending database migrations, then exit.
    ///
    /// PostgreSQL deployments run this once per upgrade (or start one instance with
    /// `serve --migrate`); SQLite migrates by itself at start.
    ///
    /// Example: KEYSLOT_DATABASE_URL=postgres://keyslot@db/keyslot keyslot migrate
    Migrate(DatabaseArgs),
    /// Copy the SQLite database (consistently, while serving) and the seal key to DIR.
    ///
    /// Store the two apart afterwards: the database alone reveals nothing and cannot be used
    /// to test passwords, and that is only true while the seal key is elsewhere.
    ///
    /// Example: keyslot backup /mnt/backup/keyslot-2026-11-29
    Backup(BackupArgs),
    /// Put a SQLite backup back into the data directory: refused while a server runs on
    /// it, and only after the seal key in force has opened the backup. The database it
    /// replaces is kept beside it, never deleted.
    ///
    /// Example: keyslot restore /mnt/backup/keyslot-2026-11-29 --seal-key-file /etc/keyslot/seal.key
    Restore(RestoreArgs),
    /// Operator commands on accounts (directly on the database).
    ///
    /// Example: keyslot user disable mallory
    #[command(subcommand)]
    User(UserCommand),
    /// The seal key in a PKCS#11 HSM: create it there, and move password slots to it.
    ///
    /// Example: KEYSLOT_SEAL_PKCS11_PIN=… keyslot seal init-hsm --seal-pkcs11-module /usr/lib/softhsm/libsofthsm2.so --seal-pkcs11-token keyslot --seal-pkcs11-key seal
    #[command(subcommand)]
    Seal(SealCommand),
    /// Create an account; prints the recovery code once.
    ///
    /// Example: echo "$PASSWORD" | keyslot signup alice --password-stdin
    Signup(CredentialsArgs),
    /// Log in and keep the session in the config directory (mode 0600).
    ///
    /// The password is read from the terminal without echo, or from standard input with
    /// --password-stdin; never from an argument.
    ///
    /// Example: keyslot login alice
    Login(CredentialsArgs),
    /// End the saved session and forget it.
    ///
    /// Example: keyslot logout
    Logout,
    /// Who the saved session (or KEYSLOT_TOKEN) speaks as: the username, the account's
    /// mode (server-mode or end-to-end) and, for an end-to-end account, the identity
    /// fingerprint others confirm before sharing with you. With --json: {username,
    /// user_id, addr, end_to_end, fingerprint?} (a token: {token_id, end_to_end}).
    ///
    /// Example: keyslot whoami
    Whoami,
    /// End-to-end accounts: confirm another user's identity fingerprint, as they read it
    /// to you from `keyslot whoami`, and pin it. Needed before a vault they share with
    /// you opens (its key must be signed by an identity you confirmed: anyone, the server
    /// included, can seal a key to you) and before you rotate a vault you share with
    /// them. With --json: {username, user_id, fingerprint}.
    ///
    /// Example: keyslot trust alice --fingerprint "1a2b3c4d 5e6f7a8b ..."
    Trust {
        /// Their username.
        username: String,
        /// Their identity fingerprint (5 groups of 8 hex digits; spaces and case ignored).
        #[arg(long, value_name = "FINGERPRINT")]
        fingerprint: String,
    },
    /// Your password.
    ///
    /// Example: keyslot password change
    #[command(subcommand)]
    Password(PasswordCommand),
    /// Set a new password with the recovery code; prints a new recovery code once (the old
    /// one stops working) and signs out every session.
    ///
    /// The code and the new password are read from the terminal without echo, or with
    /// --password-stdin from standard input (the code on the first line, the new password
    /// on the second); never from an argument.
    ///
    /// Example: keyslot recover alice
    Recover(RecoverArgs),
    /// Vaults.
    ///
    /// Example: keyslot vault create work
    #[command(subcommand)]
    Vault(VaultCommand),
    /// Items in a vault, by vault and item name (or id).
    ///
    /// Example: keyslot item set work stripe --stdin < key.txt
    #[command(subcommand)]
    Item(ItemCommand),
    /// Print one value, for scripts: ks://VAULT/ITEM or ks://VAULT/ITEM/FIELD.
    ///
    /// A string value prints as is; anything else prints as JSON. FIELD picks a key of an
    /// object value. Names containing `/` are written with %2F. With --json:
    /// {"reference": …, "value": …}, the value as stored.
    ///
    /// Example: export STRIPE_KEY="$(keyslot read ks://work/stripe/key)"
    Read {
        /// ks://VAULT/ITEM[/FIELD]
        reference: String,
    },
    /// Run a command with secrets in its environment; nothing is written to disk.
    ///
    /// The command gets: every variable of keyslot's environment whose value is a
    /// ks:// reference, resolved (`export DB=ks://work/db/password`); the variables of each
    /// --env-file (dotenv syntax; references resolved, other values as they are); each
    /// --env. Later ones win: --env over --env-file over the environment. Every reference
    /// resolves before the command starts, or it does not start. KEYSLOT_TOKEN and other
    /// Keyslot credentials are removed from its environment. The resolved values are
    /// masked in its output unless --no-masking.
    ///
    /// Examples:
    ///   keyslot run --env STRIPE_KEY=ks://work/stripe/key -- ./deploy.sh
    ///   export DB_PASSWORD=ks://work/db/password; keyslot run -- ./app
    ///   keyslot run --env-file .env -- npm start
    #[command(verbatim_doc_comment)]
    Run(RunArgs),
    /// Render a template: each {{ ks://VAULT/ITEM[/FIELD] }} becomes its value.
    ///
    /// Spaces inside the braces are optional; other {{ … }} are left as they are. Every
    /// reference resolves before anything is written, or nothing is. --output creates
    /// the file mode 0600, and will not replace one without --force.
    ///
    /// Examples:
    ///   keyslot inject -i config.yml.tpl -o config.yml
    ///   echo 'db: {{ ks://work/db/password }}' | keyslot inject
    #[command(verbatim_doc_comment)]
    Inject(InjectArgs),
    /// API tokens for scripts.
    ///
    /// Example: keyslot token create --name deploy --vault work
    #[command(subcommand)]
    Token(TokenCommand),
    /// Your own keys: sign out everywhere and rotate them.
    ///
    /// Example: keyslot keys rotate
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Your account's activity, newest first: logins, reads, lists, writes, tokens; each
    /// with the credential and the address it came from. Needs a session (keyslot login).
    ///
    /// Example: keyslot audit --since 2026-12-01T00:00:00Z --action item.read
    Audit(crate::commands::audit::AuditArgs),
    /// Write a vault's items as JSON lines ({"name": …, "value": …}).
    ///
    /// Example: keyslot export work --output work.jsonl
    Export(ExportArgs),
    /// Read JSON lines ({"name": …, "value": …}) into a vault; same names are updated.
    ///
    /// Example: keyslot import work-copy --input work.jsonl
    Import(ImportArgs),
    /// Print shell completions.
    ///
    /// Example: keyslot completions bash > /etc/bash_completion.d/keyslot
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KEYSLOT_LISTEN", default_value = "127.0.0.1:8470")]
    pub listen: SocketAddr,
    /// Data directory: the SQLite database and the seal key live here by default.
    #[arg(long, env = "KEYSLOT_DATA_DIR", default_value = "./keyslot-data")]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB. Default:
    /// sqlite://<data dir>/keyslot.db.
    #[arg(long, env = "KEYSLOT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Apply pending PostgreSQL migrations before serving (SQLite always does).
    #[arg(long, env = "KEYSLOT_MIGRATE")]
    pub migrate: bool,
    /// Seal key file shared by every instance. Default: <data dir>/seal.key, created at
    /// first start. A given file must exist.
    #[arg(long, env = "KEYSLOT_SEAL_KEY_FILE")]
    pub seal_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub pkcs11: Pkcs11Args,
    /// Largest item value in bytes.
    #[arg(long, env = "KEYSLOT_MAX_VALUE_BYTES", default_value_t = 1024 * 1024)]
    pub max_value_bytes: usize,
    /// Seconds between sweeps that delete expired tokens and ended sessions, with their
    /// wrapped keys (0: never).
    #[arg(
        long,
        env = "KEYSLOT_SWEEP_INTERVAL",
        default_value_t = 30,
        value_name = "SECS"
    )]
    pub sweep_interval: u64,
    /// Items the re-wrap moves to a vault's newest key version per batch (one transaction
    /// each; 0 turns it off). Hidden: tests set it small so a re-wrap takes many batches.
    #[arg(long, hide = true, default_value_t = 500, value_name = "ITEMS")]
    pub rewrap_batch: u32,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key). Re-read on SIGHUP and
    /// when the file changes, without a restart.
    #[arg(
        long,
        env = "KEYSLOT_TLS_CERT",
        requires = "tls_key",
        value_name = "FILE"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(
        long,
        env = "KEYSLOT_TLS_KEY",
        requires = "tls_cert",
        value_name = "FILE"
    )]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback, because a proxy in front
    /// terminates TLS. Without it (or --tls-cert/--tls-key), serve refuses such an address:
    /// passwords, cookies and tokens would cross the network in clear.
    #[arg(long, env = "KEYSLOT_INSECURE_HTTP")]
    pub insecure_http: bool,
    /// Also append every audit event, as it is recorded, to FILE as one JSON line
    /// (schema in docs/AUDIT.md); mode 0600, reopened on SIGHUP for logrotate.
    #[arg(long, env = "KEYSLOT_AUDIT_LOG", value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Reverse proxies in front (address blocks, e.g. 10.0.0.0/8): from these peers only,
    /// X-Forwarded-For / Forwarded name the client (the rightmost hop that is not one of
    /// them), for the login limits and the audit. From anyone else they are ignored.
    #[arg(
        long,
        env = "KEYSLOT_TRUSTED_PROXY",
        value_name = "CIDR",
        num_args = 1..,
        value_delimiter = ','
    )]
    pub trusted_proxy: Vec<keyslot_server::forwarded::Cidr>,
}

/// Where the seal key lives in a PKCS#11 HSM. The token's user PIN is read from
/// KEYSLOT_SEAL_PKCS11_PIN or from --seal-pkcs11-pin-file, never from an argument (other
/// users of the machine can read the process list).
#[derive(Debug, Args)]
pub struct Pkcs11Args {
    /// The PKCS#11 module (Debian's SoftHSM2: /usr/lib/softhsm/libsofthsm2.so). With it,
    /// password slots are sealed by an AES-256 key inside the HSM; the key file only
    /// opens slots that `keyslot seal migrate` has not moved yet.
    #[arg(
        long,
        env = "KEYSLOT_SEAL_PKCS11_MODULE",
        value_name = "PATH",
        requires_all = ["seal_pkcs11_token", "seal_pkcs11_key"]
    )]
    pub seal_pkcs11_module: Option<PathBuf>,
    /// The token's label.
    #[arg(
        long,
        env = "KEYSLOT_SEAL_PKCS11_TOKEN",
        value_name = "LABEL",
        requires = "seal_pkcs11_module"
    )]
    pub seal_pkcs11_token: Option<String>,
    /// The seal key's label (made by `keyslot seal init-hsm`).
    #[arg(
        long,
        env = "KEYSLOT_SEAL_PKCS11_KEY",
        value_name = "LABEL",
        requires = "seal_pkcs11_module"
    )]
    pub seal_pkcs11_key: Option<String>,
    /// A file holding the token's user PIN (one line; mode 0600), instead of
    /// KEYSLOT_SEAL_PKCS11_PIN.
    #[arg(
        long,
        env = "KEYSLOT_SEAL_PKCS11_PIN_FILE",
        value_name = "PATH",
        requires = "seal_pkcs11_module"
    )]
    pub seal_pkcs11_pin_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SealCommand {
    /// Create the seal key (AES-256) and its HMAC keys in the token: sensitive,
    /// non-extractable, token objects. Keys already there are kept.
    ///
    /// Example: keyslot seal init-hsm --seal-pkcs11-module /usr/lib/softhsm/libsofthsm2.so --seal-pkcs11-token keyslot --seal-pkcs11-key seal
    InitHsm(Pkcs11Args),
    /// Re-seal every password slot from the key file to the HSM, a batch per transaction.
    ///
    /// Safe while servers run (each configured with the HSM, so they open both kinds) and
    /// safe to interrupt: a slot already sealed by the HSM is skipped, so running it again
    /// finishes the work. A password changed meanwhile wins over the re-sealed copy. When
    /// every slot is moved, the login attempt counters start again (usernames were counted
    /// under the key file's MAC key). Device cookies made under that key stopped counting
    /// when the servers started with the HSM: each browser is a new device once.
    ///
    /// Example: keyslot seal migrate --seal-key-file /etc/keyslot/seal.key --seal-pkcs11-module /usr/lib/softhsm/libsofthsm2.so --seal-pkcs11-token keyslot --seal-pkcs11-key seal
    Migrate(SealMigrateArgs),
}

#[derive(Debug, Args)]
pub struct SealMigrateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The key file the slots are sealed under now. Default: <data dir>/seal.key.
    #[arg(long, env = "KEYSLOT_SEAL_KEY_FILE")]
    pub seal_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub pkcs11: Pkcs11Args,
    /// Slots per transaction.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
    /// Stop after this many batches (0: run to the end); for staged migrations.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub max_batches: u32,
}

#[derive(Debug, Args)]
pub struct DevCertArgs {
    /// Where to write cert.pem and key.pem (created if missing; existing files are kept).
    #[arg(long, default_value = ".")]
    pub out_dir: PathBuf,
    /// Further host names or addresses the certificate should name.
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Data directory (for the default SQLite database).
    #[arg(long, env = "KEYSLOT_DATA_DIR", default_value = "./keyslot-data")]
    pub data_dir: PathBuf,
    /// Database URL (sqlite://PATH or postgres://…). Default: sqlite://<data dir>/keyslot.db.
    #[arg(long, env = "KEYSLOT_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    /// The URL in force.
    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("keyslot.db").display()))
    }
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Directory to write keyslot.db into (created mode 0700; must not hold a backup yet).
    /// The seal key is never written here: a backup that held both would let its thief
    /// test password guesses offline.
    pub dir: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The seal key file. Default: <data dir>/seal.key.
    #[arg(long, env = "KEYSLOT_SEAL_KEY_FILE")]
    pub seal_key_file: Option<PathBuf>,
    /// Also copy the seal key to this file (mode 0600), which must be outside DIR: keep it
    /// on other media than the database copy.
    #[arg(long, value_name = "PATH")]
    pub seal_key_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The directory keyslot backup wrote (it holds keyslot.db).
    pub from: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The seal key that was in force when the backup was taken. Default: <data dir>/seal.key.
    #[arg(long, env = "KEYSLOT_SEAL_KEY_FILE")]
    pub seal_key_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List accounts.
    ///
    /// Example: keyslot user list --json
    List(DatabaseArgs),
    /// Disable an account: its sessions end, its tokens stop, it cannot log in.
    ///
    /// Example: keyslot user disable mallory
    Disable {
        /// Username.
        username: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Re-enable a disabled account.
    ///
    /// Example: keyslot user enable mallory
    Enable {
        /// Username.
        username: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Args)]
pub struct CredentialsArgs {
    /// Username (asked for when absent).
    pub username: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// An end-to-end account: the password, token secrets and every key stay on this
    /// machine; the server stores only ciphertext (chosen at sign-up, never changed).
    /// Remembered per server and username in the config directory, so later logins need
    /// not repeat it.
    #[arg(long)]
    pub end_to_end: bool,
}

#[derive(Debug, Subcommand)]
pub enum PasswordCommand {
    /// Change your password (logged in): the current one, then the new one (twice at a
    /// terminal; with --password-stdin, one per line). Your recovery code keeps working.
    ///
    /// Example: keyslot password change --end-other-sessions
    Change {
        /// Read the current and the new password from standard input, one per line.
        #[arg(long)]
        password_stdin: bool,
        /// Also sign out every other session of this account.
        #[arg(long)]
        end_other_sessions: bool,
    },
}

#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// Username.
    pub username: String,
    /// Read the recovery code and the new password from standard input, one per line.
    #[arg(long)]
    pub password_stdin: bool,
    /// An end-to-end account (remembered after its sign-up or login on this machine).
    #[arg(long)]
    pub end_to_end: bool,
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// List vaults.
    ///
    /// Example: keyslot vault list
    List,
    /// Create a vault.
    ///
    /// Example: keyslot vault create work
    Create {
        /// Name.
        name: String,
    },
    /// Show a vault: your role, its key version, whether a rotation is due and whether
    /// items are still under an older key (a re-wrap pending). With --json:
    /// {id, name, role, key_version, rotation_due, rewrap_pending}.
    ///
    /// Example: keyslot vault show work
    Show {
        /// Vault name or id.
        vault: String,
    },
    /// Rotate a vault's key now (its owner, logged in): every member and token that keeps
    /// access gets the new key; tokens that were revoked or expired can never read anything
    /// written afterwards. Prints the new key version; with --json: {vault, key_version}.
    ///
    /// Example: keyslot vault rotate work
    Rotate {
        /// Vault name or id.
        vault: String,
    },
    /// Share a vault with another user (its owner, logged in): `read` lists and reads,
    /// `write` also writes, `owner` also shares and rotates. With --json: {user_id, role}.
    /// A user already sharing it gets the new role.
    ///
    /// Example: keyslot vault share work alice --role read
    Share {
        /// Vault name or id.
        vault: String,
        /// The user to share it with.
        username: String,
        /// read, write or owner.
        #[arg(long, value_parser = ["read", "write", "owner"])]
        role: String,
        /// End-to-end accounts: the user's identity fingerprint, as they read it to you
        /// from `keyslot whoami` (5 groups of 8 hex digits). The vault key is sealed to
        /// them only if the server's copy of their key matches it.
        #[arg(long, value_name = "FINGERPRINT")]
        fingerprint: Option<String>,
    },
    /// Stop sharing a vault with a user (its owner; or your own name, to leave it). The
    /// vault's key is rotated before this returns, so nothing written afterwards opens
    /// with anything that user or their tokens held.
    ///
    /// Example: keyslot vault unshare work alice
    Unshare {
        /// Vault name or id.
        vault: String,
        /// The member's username.
        username: String,
    },
    /// A vault's members and their roles. With --json:
    /// [{user_id, username, role, grant_pending}].
    ///
    /// Example: keyslot vault members work
    Members {
        /// Vault name or id.
        vault: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ItemCommand {
    /// List a vault's items.
    ///
    /// Example: keyslot item list work
    List {
        /// Vault name or id.
        vault: String,
    },
    /// Print an item's value (with --json: the whole item).
    ///
    /// Example: keyslot item get work stripe
    Get {
        /// Vault name or id.
        vault: String,
        /// Item name or id.
        item: String,
    },
    /// Create or update an item. The value comes from --stdin, --file or (visible to other
    /// users of this machine in the process list, so avoid it for secrets) an argument.
    ///
    /// Example: printf %s "$TOKEN" | keyslot item set work github --stdin
    Set {
        /// Vault name or id.
        vault: String,
        /// Item name.
        item: String,
        /// The value (prefer --stdin or --file for secrets).
        value: Option<String>,
        /// Read the value from standard input.
        #[arg(long, conflicts_with_all = ["value", "file"])]
        stdin: bool,
        /// Read the value from a file.
        #[arg(long, conflicts_with = "value")]
        file: Option<PathBuf>,
        /// Parse the value as JSON instead of storing it as a string.
        #[arg(long = "value-json")]
        value_json: bool,
    },
    /// Delete an item.
    ///
    /// Example: keyslot item rm work stripe
    Rm {
        /// Vault name or id.
        vault: String,
        /// Item name or id.
        item: String,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// NAME=ks://VAULT/ITEM[/FIELD]; repeat for more.
    #[arg(long = "env", value_name = "NAME=REFERENCE")]
    pub env: Vec<String>,
    /// A dotenv file (NAME=value, `export NAME=value`, quotes, # comments) whose values
    /// are ks:// references or literals; repeat for more, later files winning.
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Do not mask the resolved values in the command's output; its standard output and
    /// error are then keyslot's own (a terminal stays a terminal).
    #[arg(long)]
    pub no_masking: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InjectArgs {
    /// The template (`-` or absent: standard input).
    #[arg(
        short = 'i',
        long = "input",
        visible_alias = "in-file",
        value_name = "TEMPLATE"
    )]
    pub input: Option<PathBuf>,
    /// Write to this file, created mode 0600, instead of standard output.
    #[arg(
        short = 'o',
        long = "output",
        visible_alias = "out-file",
        value_name = "FILE"
    )]
    pub output: Option<PathBuf>,
    /// Replace --output if it exists.
    #[arg(short = 'f', long, requires = "output")]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a token; it is printed once, on standard output.
    ///
    /// Example: KEYSLOT_TOKEN="$(keyslot token create --name ci --vault work)"
    Create {
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// A vault (name or id) it reaches; repeat for more.
        #[arg(long = "vault", required_unless_present_any = ["all_vaults", "deposit"])]
        vaults: Vec<String>,
        /// Reach every vault, including vaults created later.
        #[arg(long, conflicts_with = "vaults")]
        all_vaults: bool,
        /// Allow writes as well as reads.
        #[arg(long)]
        write: bool,
        /// A write-only deposit token for this vault (name or id; repeat for more): it
        /// creates items there and can read nothing back, not even what it wrote.
        ///
        /// Example: keyslot token create --name intake --deposit inbox
        #[arg(long = "deposit", value_name = "VAULT", conflicts_with_all = ["vaults", "all_vaults", "write"])]
        deposit: Vec<String>,
        /// Lifetime in seconds (default 30 days).
        #[arg(long)]
        expires_in: Option<i64>,
        /// Read the account's password from the first line of standard input instead of
        /// prompting on the terminal. Minting asks for it: a token outlives the session.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List tokens (never their secrets).
    ///
    /// Example: keyslot token list
    List,
    /// Revoke a token; it stops working at once.
    ///
    /// Example: keyslot token revoke 5f0c…
    Revoke {
        /// Token id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// A new user key: every other session signs out, this one stays; every vault you
    /// hold a key to is rotated; your password and recovery code keep working (a recovery
    /// code from before this existed is replaced, and the new one printed once).
    ///
    /// Do this after a session, a device or an old all-vaults token may have leaked: with
    /// a copy of the database, what it held opens nothing written afterwards.
    ///
    /// Example: keyslot keys rotate --revoke-tokens
    Rotate {
        /// Also revoke every API token (scripts using them stop working).
        #[arg(long)]
        revoke_tokens: bool,
        /// Read the account's password from the first line of standard input instead of
        /// prompting on the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Vault name or id.
    pub vault: String,
    /// Write to this file (created, mode 0600) instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Vault name or id.
    pub vault: String,
    /// Read from this file instead of standard input.
    #[arg(long)]
    pub input: Option<PathBuf>,
}
