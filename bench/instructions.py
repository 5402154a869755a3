#!/usr/bin/env python3
"""Instructions per request, depot and nginx on the same bytes, counted by callgrind.

Wall-clock ratios move with whatever else the machine runs; the number of instructions a
server executes to answer one request does not (much). This counts them: the benchmark
catalogue of against_nginx.py is published into depot, then depot and nginx (one process, no
master) each run under `valgrind --tool=callgrind`, and per scenario the counters are zeroed,
N requests are sent one after another on one keep-alive connection, and the counters are
dumped. Every thread of the server is counted (workers, the event writer, the log writer), so
work a request leaves behind for later is counted too, as long as it happens before the dump.

Needs valgrind (Debian's `valgrind` package: `callgrind_control` comes with it). This VM
exposes no hardware counters to `perf`, so callgrind it is.
"""
import argparse
import glob
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import against_nginx as bench  # noqa: E402

VALGRIND = ["valgrind", "--tool=callgrind", "--collect-atstart=yes", "--dump-instr=no",
            "--callgrind-out-file=%s"]


def requests(port, path, n, headers=None):
    """`n` requests on one keep-alive connection; every body read to the end."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    statuses = set()
    for _ in range(n):
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        r.read()
        statuses.add(r.status)
    conn.close()
    return statuses


class Counted:
    """A server process under callgrind: zero, then dump and read the total."""

    def __init__(self, pid, out_pattern):
        self.pid = pid
        self.out_pattern = out_pattern

    def zero(self):
        subprocess.run(["callgrind_control", "-z", str(self.pid)], check=True,
                       capture_output=True)

    def total(self):
        before = set(glob.glob(self.out_pattern + "*"))
        subprocess.run(["callgrind_control", "-d", str(self.pid)], check=True,
                       capture_output=True)
        # The dump is written by the process itself, a moment after the request.
        for _ in range(600):
            new = set(glob.glob(self.out_pattern + "*")) - before
            if new:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("callgrind wrote no dump")
        time.sleep(0.5)
        total = 0
        for path in new:
            with open(path) as f:
                for line in f:
                    # `totals:` or `summary:` carries the Ir of the dump (one per thread file).
                    if line.startswith(("totals:", "summary:")):
                        total += int(line.split()[1])
                        break
        return total


def depot_under_callgrind(workdir, port, out):
    e = {k: v for k, v in os.environ.items() if not k.startswith("DEPOT_")}
    e.update({"DEPOT_LISTEN": f"127.0.0.1:{port}", "RUST_LOG": "info,sqlx=warn",
              "DEPOT_LIMITS__MAX_CONNECTIONS_PER_CLIENT": "1000000"})
    log = open(os.path.join(workdir, "depot-callgrind.log"), "w")
    cmd = VALGRIND[:-1] + [VALGRIND[-1] % out, "--separate-threads=no", bench.DEPOT, "serve"]
    proc = subprocess.Popen(cmd, cwd=workdir, env=e, stdout=subprocess.DEVNULL, stderr=log)
    bench.wait_port(port, timeout=300)
    return proc


def nginx_under_callgrind(workdir, root, port, out):
    conf = bench.nginx_conf(workdir, root, port, single_process=True, name="nginx-callgrind")
    cmd = VALGRIND[:-1] + [VALGRIND[-1] % out, "nginx", "-c", conf, "-p", workdir]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bench.wait_port(port, timeout=120)
    return proc


def measure(server, port, path, n, headers):
    # Warm: caches filled, code paths touched, and the event writer's statements prepared on
    # each pooled connection for each batch size (a first preparation costs ~100,000
    # instructions, once per connection, which 20 downloads left inside the counted window).
    requests(port, path, 100, headers)
    time.sleep(1)
    server.zero()
    statuses = requests(port, path, n, headers)
    time.sleep(1)  # the event and log writers catch up inside the counted window
    return server.total() / n, statuses


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=500, help="requests per scenario")
    ap.add_argument("--depot", default=bench.DEPOT, help="the depot binary to count")
    ap.add_argument("--only", default="", help="scenarios whose name contains this text")
    ap.add_argument("--out", default=os.path.join(bench.ROOT, "bench", "results",
                                                  "instructions.json"))
    ap.add_argument("--keep", default="",
                    help="a directory to keep the callgrind dumps in, for callgrind_annotate")
    args = ap.parse_args()
    bench.DEPOT = os.path.abspath(args.depot)
    for tool, package in (("valgrind", "valgrind"), ("nginx", "nginx-light")):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install {package}")

    work = tempfile.mkdtemp(prefix="depot-instructions-")
    os.chmod(work, 0o755)
    staging = os.path.join(work, "static")
    depot_dir = os.path.join(work, "depot")
    os.makedirs(staging)
    os.makedirs(depot_dir)
    procs = []
    try:
        # The catalogue is published by a plain depot, which then stops: callgrind counts
        # only the serving.
        plain = bench.Depot(depot_dir, bench.free_port())
        paths, key = bench.setup_catalogue(plain, staging)
        etags = {"depot": bench.etag_of(plain.base + paths["feed"])}
        plain.stop()

        dport, nport = bench.free_port(), bench.free_port()
        depot = depot_under_callgrind(depot_dir, dport, os.path.join(work, "depot.cg"))
        procs.append(depot)
        nginx = nginx_under_callgrind(work, staging, nport, os.path.join(work, "nginx.cg"))
        procs.append(nginx)
        etags["nginx"] = bench.etag_of(f"http://127.0.0.1:{nport}{paths['feed']}")
        counted = {"depot": (Counted(depot.pid, os.path.join(work, "depot.cg")), dport),
                   "nginx": (Counted(nginx.pid, os.path.join(work, "nginx.cg")), nport)}

        scenarios = [
            # name, path, depot query, requests (fewer for the big bodies), etag, depot's
            # own headers (nginx serves the same bytes without them)
            ("extension feed", paths["feed"], "", args.requests, False),
            ("collection feed", paths["collection"], "", args.requests, False),
            ("304 revalidation", paths["feed"], "", args.requests, True),
            ("latest.json", paths["latest"], "", args.requests, False),
            ("composer metadata (free)", paths["composer_free"], "", args.requests, False),
            ("composer metadata (key)", paths["composer_paid"], "", args.requests, False,
             {"Authorization": bench.basic_auth(key)}),
            ("wordpress info.json", paths["wordpress"], "", args.requests, False),
            ("tauri update check", paths["tauri"], "", args.requests, False),
            ("free 1 MiB download", paths["free_1mib"], "", args.requests // 5, False),
            ("paid 1 MiB download (dlid)", paths["paid_1mib"], f"?dlid={key}",
             args.requests // 5, False),
        ]
        results = []
        for name, path, query, n, etag, *auth in [s for s in scenarios if args.only in s[0]]:
            row = {"scenario": name, "requests": n}
            for side in ("depot", "nginx"):
                server, port = counted[side]
                headers = {"If-None-Match": etags[side]} if etag else {}
                if side == "depot" and auth:
                    headers.update(auth[0])
                per, statuses = measure(server, port,
                                        path + (query if side == "depot" else ""), n, headers)
                if statuses - {200, 304}:
                    raise RuntimeError(f"{name}: {side} answered {sorted(statuses)}")
                row[side] = per
            row["ratio"] = row["depot"] / row["nginx"]
            results.append(row)
            print(f"{name:<30} instructions per request: depot {row['depot']:>10,.0f}  "
                  f"nginx {row['nginx']:>10,.0f}  depot/nginx {row['ratio']:.2f}", flush=True)
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"machine": bench.machine(), "results": results}, f, indent=1)
        print(f"results: {args.out}")
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            for dump in glob.glob(os.path.join(work, "*.cg*")):
                shutil.copy(dump, args.keep)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
