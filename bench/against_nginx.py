#!/usr/bin/env python3
"""depot against nginx serving the same bytes as static files, on this machine, in one run.

Starts a release build of depot (embedded defaults: SQLite, local storage, logs to a file) and
nginx (access log to a file, sendfile on), gives both the same URL paths and bytes, drives both
with wrk (same connections, keep-alive), alternating depot and nginx run by run, and reports the
ratio depot/nginx per pair of runs as min / median / max. Absolute numbers drift on a shared
machine; the ratios measured side by side do not (as much).

Run it through bench/run.sh, which builds depot and installs nginx and wrk if needed.
"""
import argparse
import asyncio
import base64
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPOT = os.path.join(ROOT, "target", "release", "depot")
MIB = 1 << 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def http(method, url, token=None, body=None, json_body=None, headers=None):
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def package_zip(kind, element, version, payload=0, seed=0):
    """A Joomla package; `payload` bytes of incompressible data make it that large."""
    if kind == "plugin":
        manifest = (f'<?xml version="1.0"?><extension type="plugin" group="system" method="upgrade">'
                    f'<name>{element}</name><version>{version}</version>'
                    f'<files><filename plugin="{element}">{element}.php</filename></files></extension>')
        name = f"{element}.xml"
    else:
        manifest = (f'<?xml version="1.0"?><extension type="component" method="upgrade">'
                    f'<name>{element}</name><element>{element}</element><version>{version}</version></extension>')
        name = f"{element}.xml"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(name, manifest)
        z.writestr(f"{element}.php", "<?php\n")
        if payload:
            z.writestr("payload.bin", random.Random(seed).randbytes(payload))
    return buf.getvalue()


def composer_zip(name, version):
    """A Composer package: its composer.json (PSR-4 autoloading) and one class."""
    manifest = {"name": name, "type": "library", "require": {"php": ">=8.1"},
                "autoload": {"psr-4": {"Acme\\Bench\\": "src/"}}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("composer.json", json.dumps(manifest))
        z.writestr("src/Widget.php", f"<?php // {version}\n")
    return buf.getvalue()


def wordpress_zip(slug, version):
    """A WordPress plugin: its folder, the main file's header and a readme."""
    header = (f"<?php\n/**\n * Plugin Name: Bench\n * Version: {version}\n"
              f" * Requires at least: 6.2\n * Requires PHP: 7.4\n */\n")
    readme = ("=== Bench ===\nTested up to: 6.7\n\nA plugin.\n\n== Description ==\n\n"
              "A plugin for the benchmark.\n\n== Changelog ==\n\n= 1.0.0 =\n* First.\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{slug}/{slug}.php", header)
        z.writestr(f"{slug}/readme.txt", readme)
    return buf.getvalue()


def tauri_signature():
    """A .sig of the form `tauri signer sign` writes (depot checks the form, not the key)."""
    line = base64.b64encode(b"Ed" + bytes(72)).decode()
    text = f"untrusted comment: signature from tauri secret key\n{line}\ntrusted comment: x\nAAAA\n"
    return base64.b64encode(text.encode()).decode()


def basic_auth(key):
    """A download key as the password of HTTP basic auth, as Composer sends it."""
    return "Basic " + base64.b64encode(f"key:{key}".encode()).decode()


class Depot:
    def __init__(self, workdir, port, env=None, log="info,sqlx=warn"):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        self.log = open(os.path.join(workdir, "depot.log"), "w")
        e = {k: v for k, v in os.environ.items() if not k.startswith("DEPOT_")}
        e.update({"DEPOT_LISTEN": f"127.0.0.1:{port}", "RUST_LOG": log,
                  # Every load-generating connection comes from one address, as nginx (which
                  # has no per-client limit unless configured) sees it too.
                  "DEPOT_LIMITS__MAX_CONNECTIONS_PER_CLIENT": "1000000"})
        e.update(env or {})
        self.proc = subprocess.Popen([DEPOT, "serve"], cwd=workdir, env=e,
                                     preexec_fn=raise_descriptor_limit,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.token = None
        for line in self.proc.stdout:
            # The first start writes the admin token to an owner-only file and names it.
            prefix = "First start: an admin API token was written to "
            if line.startswith(prefix):
                path = line[len(prefix):].split(" (")[0]
                with open(os.path.join(workdir, path)) as f:
                    self.token = f.read().strip()
            if line.startswith("depot is serving on"):
                break
        threading_drain(self.proc.stdout)
        wait_port(port)

    def api(self, method, path, json_body=None, body=None):
        status, _, data = http(method, f"{self.base}/api/v1{path}", self.token,
                               body=body, json_body=json_body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {data[:300]!r}")
        return json.loads(data) if data else None

    def publish(self, ext, version, zip_bytes, query=""):
        q = f"?{query}" if query else ""
        return self.api("PUT", f"/extensions/{ext}/releases/{version}{q}", body=zip_bytes)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def threading_drain(stream):
    import threading
    threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()


def nginx_conf(workdir, root, port, single_process=False, name="nginx"):
    """The reference's configuration: `root` served as static files on `port`, sendfile and
    the access log on; with `single_process`, one process without a master (for callgrind)."""
    conf = os.path.join(workdir, f"{name}.conf")
    head = ("master_process off;\nworker_processes 1;" if single_process
            else "worker_processes auto;")
    with open(conf, "w") as f:
        f.write(f"""
{head}
pid {workdir}/{name}.pid;
error_log {workdir}/nginx-error.log warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log {workdir}/nginx-access.log;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    types {{ text/xml xml; application/zip zip; }}
    server {{
        listen 127.0.0.1:{port} reuseport;
        root {root};
    }}
}}
""")
    return conf


class Nginx:
    def __init__(self, workdir, root, port):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        conf = nginx_conf(workdir, root, port)
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", workdir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


S3_KEY, S3_SECRET = "benchkey", "benchsecret-benchsecret"


class Layout:
    """Where depot keeps its data: `sqlite-local` (the embedded defaults), or the production
    layout `pg-s3` (a fresh PostgreSQL database on 127.0.0.1:5432, packages on s3s-fs, streamed
    through depot) and `pg-s3-redirect` (free downloads answered with a redirect to a presigned
    URL). `env` is what depot is started with; `stop` removes what was made."""

    def __init__(self, name, workdir):
        self.name = name
        self.env = {}
        self.s3 = None
        self.database = None
        if name == "sqlite-local":
            return
        if name not in ("pg-s3", "pg-s3-redirect"):
            raise SystemExit(f"unknown layout {name}: sqlite-local, pg-s3 or pg-s3-redirect")
        s3s = shutil.which("s3s-fs") or os.path.expanduser("~/.local/depot-tools/bin/s3s-fs")
        if not os.path.exists(s3s):
            raise SystemExit("s3s-fs is missing: cargo install s3s-fs@0.14.1 --features binary")
        self.database = f"depot_bench_{os.getpid()}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c",
                        f"CREATE DATABASE {self.database}"], check=True)
        root = os.path.join(workdir, "s3")
        os.makedirs(os.path.join(root, "pkgs"))
        port = free_port()
        self.s3 = subprocess.Popen([s3s, "--host", "127.0.0.1", "--port", str(port),
                                    "--access-key", S3_KEY, "--secret-key", S3_SECRET, root],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)
        self.env = {
            "DEPOT_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.database}",
            "DEPOT_STORAGE__KIND": "s3",
            "DEPOT_STORAGE__ENDPOINT": f"http://127.0.0.1:{port}",
            "DEPOT_STORAGE__BUCKET": "pkgs",
            "DEPOT_STORAGE__REGION": "us-east-1",
            "DEPOT_STORAGE__ACCESS_KEY_ID": S3_KEY,
            "DEPOT_STORAGE__SECRET_ACCESS_KEY": S3_SECRET,
            "DEPOT_STORAGE__ALLOW_HTTP": "true",
            "DEPOT_STORAGE__PATH_STYLE": "true",
            "DEPOT_STORAGE__REDIRECT": "true" if name == "pg-s3-redirect" else "false",
        }

    def stop(self):
        if self.s3:
            self.s3.terminate()
            self.s3.wait(timeout=10)
        if self.database:
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c",
                            f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)"], check=False)


def wrk(url, connections, seconds, headers=()):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out)
    unit = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}[transfer.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * scale,
        "bytes_per_s": float(transfer.group(1)) * unit,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def summary(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def setup_catalogue(depot, staging):
    """Publishes the benchmark catalogue into depot and writes the same bytes under the same
    paths into `staging` for nginx. Returns the paths and headers of each scenario."""
    # A hot extension with 20 releases, and 20 more extensions for the collection.
    for minor in range(20):
        depot.publish("plg_system_hot", f"1.{minor}.0",
                      package_zip("plugin", "hot", f"1.{minor}.0"), "joomla=4,5,6")
    for i in range(20):
        depot.publish(f"com_ext{i}", "1.0.0", package_zip("component", f"com_ext{i}", "1.0.0"))
    depot.publish("com_free", "1.0.0", package_zip("component", "com_free", "1.0.0", MIB, 1))
    depot.publish("com_big", "1.0.0", package_zip("component", "com_big", "1.0.0", 100 * MIB, 3))
    depot.api("POST", "/groups", {"id": 9, "name": "Subscribers"})
    depot.api("POST", "/package-groups", {"id": "pro", "groups": [9]})
    depot.publish("com_paid", "1.0.0", package_zip("component", "com_paid", "1.0.0", MIB, 2),
                  "package_group=pro")
    depot.api("POST", "/users", {"email": "buyer@example.com"})
    depot.api("POST", "/users/buyer@example.com/memberships", {"group": 9})
    key = depot.api("POST", "/users/buyer@example.com/keys", {"label": "bench"})["key"]
    # Composer: a free package and a paid one, 20 versions each (a paid answer is filtered by
    # the key's entitlement on every request).
    for minor in range(20):
        depot.publish("acme%2Fhot", f"1.{minor}.0", composer_zip("acme/hot", f"1.{minor}.0"))
        depot.publish("acme%2Fpro", f"1.{minor}.0", composer_zip("acme/pro", f"1.{minor}.0"),
                      "package_group=pro")
        depot.publish("bench-plugin", f"1.{minor}.0", wordpress_zip("bench-plugin", f"1.{minor}.0"))
        # An application with a Linux build in each of 20 releases.
        sig = urllib.parse.quote(tauri_signature(), safe="")
        depot.api("PUT", f"/extensions/bench-app/releases/1.{minor}.0/builds/linux/x86_64"
                         f"?filename=bench-app_1.{minor}.0_amd64.AppImage&signature={sig}",
                  body=f"build 1.{minor}.0".encode() * 1000)

    paths = {
        "feed": "/updates/plg_system_hot.xml",
        "collection": "/updates/collection.xml",
        "latest": "/releases/plg_system_hot/latest.json",
        "composer_free": "/composer/p2/acme/hot.json",
        "composer_paid": "/composer/p2/acme/pro.json",
        "wordpress": "/wordpress/bench-plugin/info.json",
        "tauri": "/tauri/bench-app/linux/x86_64/1.0.0",
        "free_1mib": "/download/com_free/1.0.0/com_free-1.0.0.zip",
        "paid_1mib": "/download/com_paid/1.0.0/com_paid-1.0.0.zip",
        "big_100mib": "/download/com_big/1.0.0/com_big-1.0.0.zip",
    }
    # The collection as depot sends it to a client that accepts Brotli, staged for nginx as a
    # plain file of those bytes: the same bytes on the wire.
    status, headers, data = http("GET", depot.base + paths["collection"],
                                 headers={"Accept-Encoding": "br"})
    encoding = next((v for k, v in headers.items() if k.lower() == "content-encoding"), None)
    assert status == 200 and encoding == "br", (status, encoding)
    target = os.path.join(staging, "updates/collection.xml.br")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as f:
        f.write(data)
    paths["collection_br"] = "/updates/collection.xml.br"
    for name, path in paths.items():
        if name == "collection_br":
            continue
        url = depot.base + path + (f"?dlid={key}" if name == "paid_1mib" else "")
        auth = {"Authorization": basic_auth(key)} if name == "composer_paid" else None
        status, _, data = http("GET", url, headers=auth)
        assert status == 200, (name, status, data[:200])
        target = os.path.join(staging, path.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)
    return paths, key


def etag_of(url):
    _, headers, _ = http("GET", url)
    etag = next((v for k, v in headers.items() if k.lower() == "etag"), None)
    assert etag, f"no ETag from {url}"
    return etag


async def slow_reader(port, path, read_bytes, per_read, pause):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    got = 0
    while got < read_bytes:
        chunk = await reader.read(per_read)
        if not chunk:
            break
        got += len(chunk)
        await asyncio.sleep(pause)
    writer.close()
    return got


DESCRIPTORS = 65536


def raise_descriptor_limit():
    """Lets depot hold 10,000 slow downloads (a descriptor each for the socket; the downloads
    of one package share its open file). Raising the hard limit needs root; otherwise depot
    works with what it has (and says so)."""
    import resource
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (DESCRIPTORS, DESCRIPTORS))
    except (ValueError, OSError):
        pass


def slow_readers(depot, path, clients, seconds, feed_url):
    """`clients` connections each reading the file at up to 160 KiB/s, opened over the first
    seconds; meanwhile wrk asks for the feed (64 connections) to show whether anyone starves.
    Returns depot's RSS before and its peak (MiB, sampled every 50 ms), and the feed's p99 (ms)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = clients + 1024
    if soft < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(hard, need)))
        except (ValueError, OSError):
            sys.exit(f"{clients} slow readers need {need} file descriptors; the hard limit "
                     f"is {hard} (raise it, e.g. `ulimit -Hn 65536` as root)")
    before = depot.rss_kib()
    peak = [before]
    feed = {}

    async def main():
        async def sample():
            while True:
                peak[0] = max(peak[0], depot.rss_kib())
                await asyncio.sleep(0.05)
        sampler = asyncio.create_task(sample())
        tasks = []
        for i in range(clients):
            tasks.append(asyncio.create_task(
                slow_reader(depot.port, path, 1 << 30, 16384, 0.1)))
            if i % 500 == 499:
                await asyncio.sleep(0.05)  # the listen backlog is not 10,000 deep
        await asyncio.sleep(2)
        loop = asyncio.get_running_loop()
        feed.update(await loop.run_in_executor(None, wrk, feed_url, 64, 5, ()))
        await asyncio.sleep(max(0, seconds - 7))
        connected = sum(1 for t in tasks if not t.done())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        sampler.cancel()
        return connected
    still_reading = asyncio.run(main())
    return before / 1024, peak[0] / 1024, feed, still_reading


def main():
    global DEPOT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="pairs of runs per scenario")
    ap.add_argument("--seconds", type=int, default=5, help="length of one wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--log", default="info,sqlx=warn",
                    help="depot's log filter (the default logs every request at info; "
                         "'info,sqlx=warn,depot::access=off' leaves access logs to the proxy)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "against_nginx.json"))
    ap.add_argument("--only", default="",
                    help="run only the scenarios whose name contains this text (and the slow "
                         "readers only if it is empty or 'slow')")
    ap.add_argument("--depot", default=DEPOT,
                    help="the depot binary to measure (another build, for a before/after pair)")
    ap.add_argument("--slow-readers", type=int, default=10000,
                    help="concurrent slow downloads of the 100 MiB file (RSS is sampled)")
    ap.add_argument("--layout", default="sqlite-local",
                    help="sqlite-local (default), pg-s3 (PostgreSQL + S3, streamed) or "
                         "pg-s3-redirect (free downloads redirected to presigned URLs)")
    args = ap.parse_args()
    DEPOT = args.depot

    work = tempfile.mkdtemp(prefix="depot-bench-")
    os.chmod(work, 0o755)  # nginx's workers run as an unprivileged user
    staging = os.path.join(work, "static")
    os.makedirs(staging)
    depot_dir = os.path.join(work, "depot")
    os.makedirs(depot_dir)
    layout = Layout(args.layout, work)
    depot = Depot(depot_dir, free_port(), env=layout.env, log=args.log)
    nginx = None
    try:
        paths, key = setup_catalogue(depot, staging)
        nginx = Nginx(work, staging, free_port())
        c = args.connections
        scenarios = [
            # name, path, depot query, connections, headers for (depot, nginx), metric
            ("extension feed", paths["feed"], "", c, None, "rps"),
            ("collection feed", paths["collection"], "", c, None, "rps"),
            ("304 revalidation", paths["feed"], "", c, "etag", "rps"),
            ("collection feed (brotli)", paths["collection_br"], "", c, "br", "rps"),
            ("latest.json", paths["latest"], "", c, None, "rps"),
            ("composer metadata (free)", paths["composer_free"], "", c, None, "rps"),
            ("composer metadata (key)", paths["composer_paid"], "", c, "basic", "rps"),
            ("wordpress info.json", paths["wordpress"], "", c, None, "rps"),
            ("tauri update check", paths["tauri"], "", c, None, "rps"),
            ("free 1 MiB download", paths["free_1mib"], "", c, None, "rps"),
            ("paid 1 MiB download (dlid)", paths["paid_1mib"], f"?dlid={key}", c, None, "rps"),
            ("100 MiB download", paths["big_100mib"], "", 4, None, "bytes_per_s"),
        ]
        scenarios = [s for s in scenarios if args.only in s[0]]
        results = []
        for name, path, query, conns, special, metric in scenarios:
            hdr = {"depot": (), "nginx": ()}
            if special == "basic":
                hdr = {"depot": (f"Authorization: {basic_auth(key)}",), "nginx": ()}
            if special == "etag":
                hdr = {"depot": (f"If-None-Match: {etag_of(depot.base + path)}",),
                       "nginx": (f"If-None-Match: {etag_of(nginx.base + path)}",)}
            depot_path = path
            if special == "br":
                # depot compresses what it serves at the plain path; nginx sends the staged bytes.
                hdr = {"depot": ("Accept-Encoding: br",), "nginx": ()}
                depot_path = path.removesuffix(".br")
            ratios, p99s, runs = [], [], []
            for _ in range(args.runs):
                d = wrk(depot.base + depot_path + query, conns, args.seconds, hdr["depot"])
                n = wrk(nginx.base + path, conns, args.seconds, hdr["nginx"])
                for side, r in (("depot", d), ("nginx", n)):
                    # wrk counts 304 as a success (2xx or 3xx).
                    if r["non_2xx"]:
                        raise RuntimeError(f"{name}: {side} answered {r['non_2xx']} errors")
                    if special == "etag" and r["bytes_per_s"] > 1000 * r["rps"]:
                        raise RuntimeError(f"{name}: {side} sent bodies, not 304s")
                ratios.append(d[metric] / n[metric])
                p99s.append(d["p99_ms"])
                runs.append({"depot": d, "nginx": n})
            row = {"scenario": name, "metric": metric, "connections": conns,
                   "ratio": summary(ratios), "depot_p99_ms": summary(p99s), "runs": runs}
            results.append(row)
            print(f"{name:<30} depot/nginx {metric}: min {min(ratios):.2f} "
                  f"median {statistics.median(ratios):.2f} max {max(ratios):.2f}   "
                  f"depot p99 {statistics.median(p99s):.2f} ms", flush=True)
        if args.only in ("", "slow"):
            n = args.slow_readers
            before, peak, feed, reading = slow_readers(depot, paths["big_100mib"], n, 20,
                                                       depot.base + paths["feed"])
            print(f"{f'{n:,} slow readers (100 MiB)':<30} depot RSS before {before:.0f} MiB, "
                  f"peak {peak:.0f} MiB; {reading:,} still reading at the end; feed meanwhile "
                  f"{feed['rps']:.0f} req/s, p99 {feed['p99_ms']:.1f} ms", flush=True)
            results.append({"scenario": f"{n} slow readers", "clients": n,
                            "still_reading": reading, "rss_before_mib": before,
                            "rss_peak_mib": peak, "feed_rps": feed["rps"],
                            "feed_p99_ms": feed["p99_ms"], "feed_non_2xx": feed["non_2xx"]})
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"machine": machine(), "depot_log": args.log, "layout": args.layout,
                       "results": results}, f, indent=1)
        print(f"results: {args.out}")
    finally:
        depot.stop()
        if nginx:
            nginx.stop()
        layout.stop()
        shutil.rmtree(work, ignore_errors=True)


def machine():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": cpu,
            "nginx": subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip(),
            "date": time.strftime("%Y-%m-%d")}


if __name__ == "__main__":
    sys.exit(main())
