//! Crash safety of the key lifecycle: `keyslot serve` killed with SIGKILL while it rotates
//! a vault's key and while it re-wraps the vault's items, restarted, and checked.
//!
//! One user, one vault of [`ITEMS`] items re-wrapped [`BATCH`] at a time (several
//! transactions per re-wrap), and one live token of each kind: read and read-write scoped
//! to the vault, read-write over `"*"`. Each round the owner's session rotates the key,
//! revokes a token (which rotates; the next step mints its replacement) and writes items
//! through the session and the write tokens, until the kill.
//! The kill lands by turns: inside a rotation's transaction, inside a re-wrap batch's
//! transaction (a debug build of the server pauses there before the commit when
//! `KEYSLOT_TEST_PAUSE_IN` asks, and says so on stderr), and at a random moment. Where the
//! process died is read from its stderr after the kill, so the counts printed at the end
//! say how many kills landed mid-rotation and mid-re-wrap, however they were placed; the
//! test fails unless at least one of each did.
//!
//! After every restart: the password logs in; `key_version` never goes back; a write
//! whose answer was lost happened whole or not at all; every acknowledged item opens at its
//! acknowledged value through the session and every unrevoked token; revoked tokens get
//! 401; `rewrap_pending` turns false within a bounded number of writes (the re-wrap
//! resumes where the data says) and everything still opens after it; and the database
//! passes its own integrity check.
//!
//! `KEYSLOT_CRASH_ROUNDS` sets the kills per backend (default 9: three of each kind);
//! `KEYSLOT_CRASH_SEED` replays a run. The failpoint exists in debug builds only, so
//! `KEYSLOT_TEST_BIN` must name a debug build here.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead as _, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::lifecycle_world::{Http, ITEMS, World};
use crate::rng::Rng;
use crate::support::{
    self, Client, Instance, Session, free_port, keyslot_bin, seal_key_file, wait_ready,
};
use crate::{Run, integrity, seed};

/// Items per re-wrap batch (`serve --rewrap-batch`).
pub const BATCH: u32 = 4;
/// How long the server holds a rotation or a re-wrap batch open before its commit.
const PAUSE_MS: u64 = 150;
const MARKER: &str = "keyslot-test-pause: ";

fn rounds() -> u32 {
    std::env::var("KEYSLOT_CRASH_ROUNDS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(9)
}

/// What the server's stderr said about its pauses.
#[derive(Default)]
struct Markers {
    /// The pause it is inside now (`rotation` or `rewrap`), if any.
    inside: Option<String>,
    /// Pauses entered, by place.
    entered: BTreeMap<String, u32>,
    /// The last lines, for a failure message.
    tail: VecDeque<String>,
}

/// A `keyslot serve` whose stderr is read for the pause markers.
struct Server {
    instance: Instance,
    markers: Arc<Mutex<Markers>>,
    reader: Option<JoinHandle<()>>,
}

impl Server {
    fn start(run: &Run<'_>) -> Self {
        let port = free_port();
        let mut cmd = Command::new(keyslot_bin());
        cmd.arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(run.dir.join("data"))
            .args(["--database-url", &run.url])
            .arg("--seal-key-file")
            .arg(&run.seal)
            .args(["--rewrap-batch", &BATCH.to_string()])
            .env("KEYSLOT_TEST_PAUSE_IN", "rotation,rewrap")
            .env("KEYSLOT_TEST_PAUSE_MS", PAUSE_MS.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if run.migrate {
            cmd.arg("--migrate");
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let markers = Arc::new(Mutex::new(Markers::default()));
        let seen = Arc::clone(&markers);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut m = seen.lock().unwrap();
                if let Some(rest) = line.strip_prefix(MARKER) {
                    match rest.split_once(' ') {
                        Some(("enter", at)) => {
                            *m.entered.entry(at.to_owned()).or_default() += 1;
                            m.inside = Some(at.to_owned());
                        }
                        Some(("leave", _)) => m.inside = None,
                        _ => {}
                    }
                }
                if m.tail.len() == 30 {
                    m.tail.pop_front();
                }
                m.tail.push_back(line);
            }
        });
        Self {
            instance: Instance {
                child,
                base: format!("http://127.0.0.1:{port}"),
            },
            markers,
            reader: Some(reader),
        }
    }

    fn inside(&self) -> Option<String> {
        self.markers.lock().unwrap().inside.clone()
    }

    /// SIGKILL; then, from all it wrote before it died, the pause it died inside.
    fn kill(&mut self) -> Option<String> {
        self.instance.kill();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.inside()
    }

    fn entered(&self, at: &str) -> u32 {
        self.markers
            .lock()
            .unwrap()
            .entered
            .get(at)
            .copied()
            .unwrap_or(0)
    }

    fn tail(&self) -> String {
        let m = self.markers.lock().unwrap();
        m.tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// A client from 127.3.x.y, one address per round: the 401s of revoked tokens that the
/// checks provoke on purpose never reach one address's failure budget.
fn http_for(round: u32, base: &str) -> Http {
    let n = round % 60_000 + 2;
    let [_, _, hi, lo] = n.to_be_bytes();
    Http {
        http: support::http()
            .local_address(IpAddr::V4(Ipv4Addr::new(127, 3, hi, lo)))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        base: base.to_owned(),
    }
}

#[derive(Default, Debug)]
struct Counts {
    kills: u32,
    mid_rotation: u32,
    mid_rewrap: u32,
    /// Restarts that found a re-wrap unfinished, which then finished.
    resumed: u32,
    rotations_entered: u32,
    batches_entered: u32,
}

/// Start, wait, and check everything; drive the re-wrap to its end and check again.
async fn restart_and_check(
    run: &Run<'_>,
    round: u32,
    world: &mut World,
    rng: &mut Rng,
    counts: &mut Counts,
) -> Result<(Server, Http, Session), String> {
    let mut server = Server::start(run);
    wait_ready(&Client::new().http, &mut server.instance).await;
    let http = http_for(round, &server.instance.base);
    let checked = async {
        let (session, pending) = world.verify(&http).await?;
        let writes = world
            .finish_rewrap(&http, &session, rng, Duration::from_secs(60))
            .await?;
        if pending {
            counts.resumed += 1;
            if writes == 0 {
                return Err("rewrap_pending turned false with no batch run".to_owned());
            }
        }
        world.items_open(&http, &session).await?;
        Ok(session)
    }
    .await;
    match checked {
        Ok(session) => Ok((server, http, session)),
        Err(e) => Err(format!("{e}\nserver stderr (tail):\n{}", server.tail())),
    }
}

async fn survive_lifecycle_kills(run: Run<'_>, backend: &str) {
    let seed = seed();
    let rounds = rounds();
    eprintln!("lifecycle crash[{backend}]: {rounds} kills, KEYSLOT_CRASH_SEED={seed}");
    let fail = |round: u32, e: String| -> ! {
        panic!("lifecycle crash[{backend}] round {round} (seed {seed}): {e}")
    };
    let mut rng = Rng::new(seed);
    let mut counts = Counts::default();
    let mut world = {
        let mut server = Server::start(&run);
        wait_ready(&Client::new().http, &mut server.instance).await;
        let world = World::create(&http_for(60_000, &server.instance.base), &mut rng)
            .await
            .unwrap_or_else(|e| fail(0, e));
        server.kill();
        world
    };
    for round in 0..rounds {
        let (mut server, http, session) =
            restart_and_check(&run, round, &mut world, &mut rng, &mut counts)
                .await
                .unwrap_or_else(|e| fail(round, e));
        // Load; then kill inside a rotation, inside a re-wrap batch, or anywhere.
        let target = ["rotation", "rewrap", ""][round as usize % 3];
        let load = tokio::spawn(world.run(http, session, rng.next()));
        if target.is_empty() {
            tokio::time::sleep(Duration::from_millis(20 + rng.below(600))).await;
        } else {
            let deadline = Instant::now() + Duration::from_secs(30);
            while server.inside().as_deref() != Some(target) && !load.is_finished() {
                if Instant::now() > deadline {
                    fail(round, format!("the load never paused inside a {target}"));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let died_in = server.kill();
        counts.kills += 1;
        counts.rotations_entered += server.entered("rotation");
        counts.batches_entered += server.entered("rewrap");
        match died_in.as_deref() {
            Some("rotation") => counts.mid_rotation += 1,
            Some("rewrap") => counts.mid_rewrap += 1,
            _ => {}
        }
        world = load.await.unwrap().unwrap_or_else(|e| {
            fail(
                round,
                format!("{e}\nserver stderr (tail):\n{}", server.tail()),
            )
        });
        run.integrity
            .check()
            .await
            .unwrap_or_else(|e| fail(round, format!("integrity: {e}")));
    }
    // The last kill is checked too.
    let (mut server, _, _) = restart_and_check(&run, rounds, &mut world, &mut rng, &mut counts)
        .await
        .unwrap_or_else(|e| fail(rounds, e));
    server.kill();
    eprintln!(
        "lifecycle crash[{backend}]: {} kills, {} mid-rotation, {} mid-re-wrap; {} restarts resumed an unfinished re-wrap; {} rotations and {} re-wrap batches entered; key_version {}, {} items, {} live and {} revoked tokens checked",
        counts.kills,
        counts.mid_rotation,
        counts.mid_rewrap,
        counts.resumed,
        counts.rotations_entered,
        counts.batches_entered,
        world.version,
        world.items.len(),
        world.live().count(),
        world.tokens.len() - world.live().count(),
    );
    assert!(
        world.items.len() >= ITEMS,
        "every setup item is still there"
    );
    assert!(
        counts.mid_rotation >= 1 && counts.mid_rewrap >= 1,
        "kills must land inside a rotation and inside a re-wrap batch: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_key_rotation_and_rewrap_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keyslot.db");
    let run = Run {
        dir: dir.path(),
        seal: seal_key_file(dir.path()),
        migrate: false,
        integrity: integrity::Checker::Sqlite(db.clone()),
        url: format!("sqlite://{}", db.display()),
    };
    survive_lifecycle_kills(run, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_key_rotation_and_rewrap_survive_sigkill() {
    let Some(url) = keyslot_store_tests::postgres::fresh_database_url("crash_lifecycle").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = Run {
        dir: dir.path(),
        seal: seal_key_file(dir.path()),
        migrate: true,
        integrity: integrity::Checker::Postgres(url.clone()),
        url: url.clone(),
    };
    survive_lifecycle_kills(run, "postgres").await;
    keyslot_store_tests::postgres::drop_database(&url).await;
}
