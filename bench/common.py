"""Helpers shared by bench/run's passes: running a command, a free port, waiting for a
server, and one wrk run parsed into requests/s, p50/p99 and the non-2xx count."""
import os, re, socket, subprocess, sys, time, urllib.request

LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lua")

def sh(*args, **kw):
    done = subprocess.run(args, text=True, capture_output=True, **kw)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args[:2]))} exited {done.returncode}: {done.stderr.strip()[:1500]}")
    return done.stdout

def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def wait(url):
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1); return
        except Exception:
            time.sleep(0.1)
    sys.exit(f"not ready: {url}")

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}

def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * UNITS[m.group(2)]

def wrk(url, script, env, secs, conns=16, threads=1):
    out = sh("wrk", f"-t{threads}", f"-c{conns}", f"-d{secs}s", "--latency", "-s", os.path.join(LUA, script), url,
             env={**os.environ, **env})
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict((p, ms(v)) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(bad.group(1)) if bad else 0
    # ok_rps: answered with 2xx, per second (a refused login is fast; it is not a login).
    return {"rps": rps, "ok_rps": rps * (total - non2xx) / max(total, 1), "p50": lat.get("50"), "p99": lat.get("99"),
            "non2xx": non2xx, "total": total}
