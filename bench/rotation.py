"""The key-rotation pass of bench/run (issue 15; docs/PERFORMANCE.md, "Key rotation").

Three vaults, each its own user's, each with --rotation-tokens tokens scoped to it (one
read-write, the rest read-only): 10 items, --rotation-items / 10, and --rotation-items
(100,000 by default). Items are made through the HTTP API (`keyslot-bench
rotation-populate`, 8 concurrent connections) on a server whose data directory is on tmpfs,
where SQLite's per-commit fsync costs nothing; the server is then stopped, the directory
copied to disk (the same filesystem as the rest of bench/run), and every figure below is
measured on a fresh `keyslot serve` over the copy, with its default settings.

1. Rotation: `POST /v1/vaults/{v}/rotate` timed on the three vaults, --rotation-rounds
   rounds interleaved, each a fresh rotation; median, spread, and big/small. Each rotation's
   audit event gives the grants it sealed (the holders besides the owner).
2. Re-wrap: a fresh rotation of the middle and of the big vault, each then driven to the end
   the way the product drives it (`keyslot-bench rotation-rewrap`: back-to-back writes, each
   followed by one re-wrap batch), alone on the server; items/s, and time per item big
   against middle (linear: within ±20%).
3. Token-read p99 while a re-wrap runs: the same wrk token-read load (get.lua, 16
   connections, a read token of the big vault over 100 of its items) for the same window,
   (a) alone, (b) beside the same writes with nothing to re-wrap, (c) beside the writes that
   drive the big vault's re-wrap after a fresh rotation, (d) alone again.
"""
import collections, json, math, os, re, shutil, subprocess, sys, tempfile, time

from common import port, sh, wait, wrk

# `keyslot serve`'s default --rewrap-batch: the items an explicit rotation moves right after
# it answers (since a006d3d; before, inside its request), and each write afterwards.
BATCH = 500


def _num(x, digits):
    return "—" if x is None else f"{x:.{digits}f}"


def _serve(keyslot, data_dir, *extra, log=None):
    """`keyslot serve` on `data_dir`, its warnings and errors appended to `log`."""
    p = port()
    with open(log or os.devnull, "ab") as err:
        proc = subprocess.Popen([keyslot, "serve", "--listen", f"127.0.0.1:{p}", "--data-dir", data_dir, *extra],
                                stderr=err, env={**os.environ, "KEYSLOT_LOG": "warn"})
    base = f"http://127.0.0.1:{p}"
    wait(f"{base}/readyz")
    return proc, base


def server_warnings(log):
    """The server's distinct warning and error lines (timestamps cut), with their counts."""
    if not os.path.exists(log):
        return {}
    lines = [re.sub(r"latency=\d+ ms", "latency=N ms", re.sub(r"^\S*\d\d:\d\d:\d\d\S*\s+", "", line.strip()))[:300]
             for line in open(log, errors="replace") if "WARN" in line or "ERROR" in line]
    return dict(collections.Counter(lines).most_common(10))


def _stop(proc):
    proc.terminate()
    proc.wait()


def _time(bench, base, vaults, rounds):
    targets = [a for v in vaults for a in ("--target", f"{v['user']}/{v['vault']}")]
    return json.loads(sh(bench, "rotation-time", "--addr", base, *targets, "--rounds", str(rounds)))["targets"]


def _driver(bench, base, vault, secs=None):
    """`keyslot-bench rotation-rewrap` started in the background (the write token in its
    environment, never in its arguments)."""
    cmd = [bench, "rotation-rewrap", "--addr", base, "--vault", vault["vault"], "--item", vault["items"][0]]
    if secs is not None:
        cmd += ["--secs", str(secs)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "KS_WRITE_TOKEN": vault["write_token"]})


def _finish(proc):
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"rotation-rewrap exited {proc.returncode}: {err.strip()[:1500]}")
    return json.loads(out)


def _rewrap_alone(bench, base, vault):
    """A fresh rotation, then its re-wrap driven to the end with nothing else running."""
    rotated = _time(bench, base, [vault], 1)[0]
    run = _finish(_driver(bench, base, vault))
    moved = vault["item_count"] - min(BATCH, vault["item_count"])
    return {**run, "rotate_ms": rotated["median_ms"], "items_after_rotate": moved,
            "items_per_sec": moved / run["secs"] if moved else None,
            "us_per_item": run["secs"] / moved * 1e6 if moved else None}


def _reads_beside(bench, base, vault, window, token_env, secs=None):
    """The token-read load for `window` seconds beside the write driver (with `secs`, plain
    writes for that long; without, the re-wrap to its end)."""
    lead = 0.3
    driver = _driver(bench, base, vault, secs)
    time.sleep(lead)
    reads = wrk(base, "get.lua", token_env, window)
    run = _finish(driver)
    # Did the driver still run when the read window closed?
    run["covered_read_window"] = run["secs"] >= lead + window
    return {"reads": reads, "writes": run}


def run(args, keyslot, bench):
    n_big = args.rotation_items
    sizes = {"small": 10, "middle": max(10, n_big // 10), "big": n_big}
    load = {"start": os.getloadavg()}
    shm = tempfile.mkdtemp(prefix="keyslot-rot-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    disk = tempfile.mkdtemp(prefix="keyslot-rot-")
    server = None
    try:
        server, base = _serve(keyslot, f"{shm}/data")
        vaults = {}
        for name, n in sizes.items():
            vaults[name] = json.loads(sh(bench, "rotation-populate", "--addr", base, "--user", f"rot-{name}",
                                         "--items", str(n), "--tokens", str(args.rotation_tokens)))
            print(f"rotation: {name} vault, {n} items in {vaults[name]['populate_secs']:.1f}s, "
                  f"{vaults[name]['tokens']} tokens in {vaults[name]['mint_secs']:.1f}s", file=sys.stderr, flush=True)
        _stop(server)
        shutil.copytree(f"{shm}/data", f"{disk}/data")
        shutil.rmtree(shm, ignore_errors=True)
        log = f"{disk}/server.log"
        server, base = _serve(keyslot, f"{disk}/data", log=log)

        timed = _time(bench, base, [vaults["small"], vaults["middle"], vaults["big"]], args.rotation_rounds)
        rot = dict(zip(sizes, timed))
        medians = ", ".join(f"{k} {v['median_ms']:.1f} ms" for k, v in rot.items())
        print(f"rotation: medians {medians}", file=sys.stderr, flush=True)

        rewrap = {name: _rewrap_alone(bench, base, vaults[name]) for name in ("middle", "big")}
        rates = ", ".join(f"{k} {v['secs']:.1f}s ({_num(v['items_per_sec'], 0)} items/s)" for k, v in rewrap.items())
        print(f"rotation: re-wrap {rates}", file=sys.stderr, flush=True)

        big = vaults["big"]
        token_env = {"KS_PATHS": " ".join(f"/v1/vaults/{big['vault']}/items/{i}" for i in big["items"]),
                     "KS_HEADER_NAME": "Authorization", "KS_HEADER_VALUE": f"Bearer {big['read_token']}"}
        # The read window: as long as --secs, but no longer than the big re-wrap took alone,
        # so that the re-wrap (slower beside the reads) is still running when it closes.
        window = max(2, min(args.secs, int(rewrap["big"]["secs"])))
        wrk(base, "get.lua", token_env, 1)  # warm-up; converts the read token's pending grant
        p99 = {"window_secs": window}
        p99["reads_alone"] = wrk(base, "get.lua", token_env, window)
        p99["reads_beside_writes"] = _reads_beside(bench, base, big, window, token_env, secs=window + 1)
        p99["rotate_ms"] = _time(bench, base, [big], 1)[0]["median_ms"]
        p99["reads_during_rewrap"] = _reads_beside(bench, base, big, window, token_env)
        p99["reads_alone_after"] = wrk(base, "get.lua", token_env, window)

        # Where a rotation's time goes: the same rotations on the same data with the re-wrap
        # off (`--rewrap-batch 0`, the hidden flag the tests use), so that no batch follows
        # the rotation inside its request.
        _stop(server)
        server = None
        server, base = _serve(keyslot, f"{disk}/data", "--rewrap-batch", "0", log=log)
        timed = _time(bench, base, [vaults["small"], vaults["middle"], vaults["big"]], args.rotation_rounds)
        rot_alone = dict(zip(sizes, timed))
        _stop(server)
        server = None
        warnings = server_warnings(log)
    finally:
        if server is not None:
            _stop(server)
        shutil.rmtree(shm, ignore_errors=True)
        shutil.rmtree(disk, ignore_errors=True)
    load["end"] = os.getloadavg()
    populate = {k: {f: v[f] for f in ("item_count", "tokens", "populate_secs", "items_per_sec", "mint_secs")}
                for k, v in vaults.items()}
    return {"sizes": sizes, "tokens": args.rotation_tokens, "rounds": args.rotation_rounds, "batch": BATCH,
            "populate": populate, "rotate": rot, "rotate_without_batch": rot_alone, "rewrap": rewrap, "p99": p99, "server_warnings": warnings, "loadavg": load}


def report(r):
    """Markdown lines: the rotation table, the re-wrap table, the p99 table, and the targets."""
    rot, rw, p = r["rotate"], r["rewrap"], r["p99"]
    lines = [f"Rotation: `POST /v1/vaults/{{v}}/rotate`, {r['rounds']} interleaved rounds per vault, "
             f"{r['tokens']} tokens scoped to each vault; as shipped (the first re-wrap batch of "
             f"≤{r['batch']} items follows each answer, so back-to-back rounds may overlap it), and on the same data with the re-wrap off (`--rewrap-batch 0`):", "",
             "| vault | items | median ms | min ms | max ms | grants sealed | re-wrap off: median ms | min ms | max ms |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, x in rot.items():
        y = r["rotate_without_batch"][name]
        grants = sorted(set(g for g in x["grants"] + y["grants"] if g is not None))
        lines.append(f"| {name} | {r['sizes'][name]:,} | {x['median_ms']:.1f} | {x['min_ms']:.1f} | {x['max_ms']:.1f} | "
                     f"{', '.join(map(str, grants)) or '?'} | {y['median_ms']:.1f} | {y['min_ms']:.1f} | {y['max_ms']:.1f} |")
    lines += ["", f"Re-wrap after a fresh rotation, driven by back-to-back writes (each followed by one batch of "
                  f"≤{r['batch']}), alone on the server:", "",
              "| vault | items left after the rotate | writes | busy answers (429/503) | seconds | items/s | µs per item | write p50 ms | write p99 ms |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, x in rw.items():
        lines.append(f"| {name} | {x['items_after_rotate']:,} | {x['writes']} | {x['refused']} | {x['secs']:.2f} | {_num(x['items_per_sec'], 0)} | "
                     f"{_num(x['us_per_item'], 1)} | {x['write_p50_ms']:.1f} | {x['write_p99_ms']:.1f} |")
    during = p["reads_during_rewrap"]
    lines += ["", f"Token reads of the big vault (wrk -t1 -c16, {p['window_secs']} s each):", "",
              "| while | req/s | p50 ms | p99 ms | non-2xx | writes (busy answers) | re-wrap running all window |", "|---|---|---|---|---|---|---|"]
    rows = [("alone", p["reads_alone"], None, "—"),
            ("beside writes, nothing to re-wrap", p["reads_beside_writes"]["reads"], p["reads_beside_writes"]["writes"], "—"),
            ("beside writes driving the re-wrap", during["reads"], during["writes"],
             "yes" if during["writes"]["covered_read_window"] else "no: it finished first"),
            ("alone, after", p["reads_alone_after"], None, "—")]
    for label, x, w, covered in rows:
        writes = f"{w['writes']} ({w['refused']})" if w else "—"
        lines.append(f"| {label} | {x['rps']:.0f} | {x['p50']:.2f} | {x['p99']:.2f} | {x['non2xx']} | {writes} | {covered} |")
    small, big = rot["small"]["median_ms"], rot["big"]["median_ms"]
    alone = r["rotate_without_batch"]
    a_small, a_big = alone["small"]["median_ms"], alone["big"]["median_ms"]
    lin = rw["big"]["us_per_item"] / rw["middle"]["us_per_item"] if rw["middle"]["us_per_item"] and rw["big"]["us_per_item"] else math.nan
    base99 = p["reads_alone"]["p99"]
    worst_base = max(p["reads_alone"]["p99"], p["reads_alone_after"]["p99"])
    n_big, n_mid = f"{r['sizes']['big']:,}", f"{r['sizes']['middle']:,}"
    targets = [
        (f"rotation at {n_big} items within ±20% of 10 items (medians), as shipped",
         f"{big:.1f} vs {small:.1f} ms = {big / small:.2f}× (vs {n_mid} items: {big / rot['middle']['median_ms']:.2f}×)",
         0.8 <= big / small <= 1.2),
        (f"the same with the re-wrap off (the rotation alone)",
         f"{a_big:.1f} vs {a_small:.1f} ms = {a_big / a_small:.2f}×", 0.8 <= a_big / a_small <= 1.2),
        (f"re-wrap linear: µs per item at {n_big} within ±20% of {n_mid}",
         f"{rw['big']['us_per_item']:.1f} vs {rw['middle']['us_per_item']:.1f} µs = {lin:.2f}× (median write with its "
         f"batch, robust to bursts of load: {rw['big']['write_p50_ms']:.1f} vs {rw['middle']['write_p50_ms']:.1f} ms = "
         f"{rw['big']['write_p50_ms'] / rw['middle']['write_p50_ms']:.2f}×)"
         if not math.isnan(lin) else "a vault fits in the rotation's own batch (use more items)",
         None if math.isnan(lin) else 0.8 <= lin <= 1.2),
        ("token-read p99 during the re-wrap ≤ 2× without (reads alone, before)",
         f"{during['reads']['p99']:.2f} vs {base99:.2f} ms = {during['reads']['p99'] / base99:.1f}× "
         f"(vs the worse of before/after, {worst_base:.2f} ms: {during['reads']['p99'] / worst_base:.1f}×; "
         f"reads beside plain writes: {p['reads_beside_writes']['reads']['p99']:.2f} ms)"
         + ("" if during["writes"]["covered_read_window"] else "; the re-wrap ended before the read window did"),
         during["reads"]["p99"] <= 2 * base99 if during["writes"]["covered_read_window"] else None),
    ]
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    verdict = {True: "met", False: "missed", None: "not measured"}
    lines += [f"| {t} | {m} | {verdict[ok]} |" for t, m, ok in targets]
    if r["server_warnings"]:
        lines += ["", "The server's warnings and errors during the measurements (count, line):", ""]
        lines += [f"- {n}× `{w}`" for w, n in r["server_warnings"].items()]
    la = r["loadavg"]
    lines += ["", "Load average (1/5/15 min) at the start: " + " / ".join(f"{x:.2f}" for x in la["start"]) +
              "; at the end: " + " / ".join(f"{x:.2f}" for x in la["end"]) + "."]
    return lines
