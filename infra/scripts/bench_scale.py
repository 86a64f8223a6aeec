"""Scale benchmark: a release dev server on a data directory seeded with 1k, 10k and
100k inquiries (and as many chat messages in one session), the time of each request
at each size side by side with the smallest, then the drain rate of the in-process
workers against the POST route's rate.

Each size is seeded by the `seed` binary (the submit use case itself, every third
inquiry moved on, every tenth with a report, the change feed relayed) and served
with `WORKERS=off`, so the queued work does not run beside the timing. Each request
is made REPEAT times one after another over one keep-alive connection, after two
unmeasured warm-up calls; the figure is the median. A deep page is the same depth
(offset 500, or the 26th cursor page) at every size: the offset listing reads
`offset + limit` entries by design, so its cost follows the depth asked for, not
the data.

The drain: a fresh server with its workers off takes POSTs from 8 client threads
for DRAIN_SECONDS (the accept rate); restarted on the same data with its workers on,
the drain rate is the accepted inquiries over the time until every one has its
report and its two e-mails. Each phase has the machine to itself.

usage: bench_scale.py TARGET_DIR [SIZE ...]   (default sizes: 1000 10000 100000)
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_coldstart import ENV, free_port  # noqa: E402

REPEAT = int(os.environ.get("REPEAT", "30"))
DRAIN_SECONDS = int(os.environ.get("DRAIN_SECONDS", "20"))
USER = "bench"  # its password is "bench" (bench_coldstart's ADMIN_USERS)


class Client:
    """One keep-alive connection to the server."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token = None

    def call(self, method, path, body=None):
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        raw = r.read()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {raw[:300]!r}")
        ctype = r.getheader("content-type") or ""
        return json.loads(raw) if "json" in ctype else raw

    def sign_in(self):
        self.token = self.call("POST", "/api/v1/auth/login", {"username": USER, "password": "bench"})["token"]


def server_env(port, data, workers):
    """A dev server's settings for a benchmark. Every request comes from one
    address: the per-client limit is lifted to its ceiling so that the route, not
    the limit, is measured."""
    return dict(os.environ, BIND_ADDR=f"127.0.0.1:{port}", DATA_DIR=data, LOG_LEVEL="warn",
                JWT_SECRET=ENV["JWT_SECRET"], ADMIN_USERS=ENV["ADMIN_USERS"],
                WORKERS="on" if workers else "off",
                SUBMISSIONS_PER_CLIENT_PER_HOUR="100000")


def start(binary, data, workers):
    port = free_port()
    server = subprocess.Popen([binary], env=server_env(port, data, workers),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while True:
        try:
            c = Client(port)
            c.call("GET", "/health")
            return server, port
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("the dev server did not start")
            time.sleep(0.1)


def median_ms(fn):
    fn()
    fn()
    times = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(target, size):
    """Seeds `size` inquiries and messages and times each request."""
    figures = {}
    with tempfile.TemporaryDirectory() as data:
        t = time.time()
        out = subprocess.run([os.path.join(target, "seed"), data, str(size), str(size), f"admin:{USER}"],
                             check=True, capture_output=True, text=True).stdout
        session = out.strip().splitlines()[-1]
        seeded = time.time() - t
        server, port = start(os.path.join(target, "devserver"), data, workers=False)
        try:
            c = Client(port)
            c.sign_in()
            stored = c.call("GET", "/api/v1/admin/inquiries?limit=1")["total"]
            assert stored == size, f"{stored} inquiries stored, {size} seeded"
            n = [0]

            def post():
                n[0] += 1
                c.call("POST", "/api/v1/inquiries", {
                    "name": "Bench Prospect", "email": f"bench{n[0]}@example.com", "company": "Bench Co",
                    "services": ["migration"], "message": "We need to move 40 VMs this quarter"})

            # The 26th page of the cursor listing, reached once.
            cursor = None
            for _ in range(25):
                page = c.call("GET", "/api/v1/inquiries?limit=20" + (f"&cursor={quote(cursor)}" if cursor else ""))
                cursor = page["next_cursor"]
            get = lambda path: (lambda: c.call("GET", path))  # noqa: E731
            reads = [
                ("POST /api/v1/inquiries", post),
                ("admin listing, first page", get("/api/v1/admin/inquiries?limit=20")),
                ("admin listing, offset 500", get("/api/v1/admin/inquiries?limit=20&offset=500")),
                ("admin listing by status, first page", get("/api/v1/admin/inquiries?status=processing&limit=20")),
                ("cursor listing, first page", get("/api/v1/inquiries?limit=20")),
                ("cursor listing, 26th page", get(f"/api/v1/inquiries?limit=20&cursor={quote(cursor)}")),
                ("report listing, first page", get("/api/v1/admin/reports?limit=20")),
                ("admin metrics, 30 days", get("/api/v1/admin/metrics?time_range=30d")),
                ("chat history, newest 50", get(f"/api/v1/admin/chat/sessions/{session}/history?limit=50")),
                ("chat sessions", get("/api/v1/admin/chat/sessions")),
                ("chat metrics", get("/api/v1/admin/chat/metrics")),
                ("Prometheus scrape", get("/api/v1/metrics")),
            ]
            for name, fn in reads:
                figures[name] = median_ms(fn)
        finally:
            server.terminate()
            server.wait()
    print(f"seeded {size} inquiries and {size} messages in {seeded:.0f} s", file=sys.stderr)
    return figures


def drain(target):
    """POSTs from 8 client threads for DRAIN_SECONDS with the workers off, then
    restarts the server on the same data with its workers on and waits for the last
    report and e-mail: inquiries accepted per second, and drained per second, each
    with the whole machine to itself."""
    with tempfile.TemporaryDirectory() as data:
        server, port = start(os.path.join(target, "devserver"), data, workers=False)
        try:
            stop = time.time() + DRAIN_SECONDS
            accepted = [0] * 8

            def client(k):
                c = Client(port)
                i = 0
                while time.time() < stop:
                    i += 1
                    c.call("POST", "/api/v1/inquiries", {
                        "name": "Bench Prospect", "email": f"drain{k}-{i}@example.com", "company": "Bench Co",
                        "services": ["optimization"], "message": "Our bill doubled in a year."})
                    accepted[k] += 1

            start_at = time.time()
            threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            load = time.time() - start_at
        finally:
            server.terminate()
            server.wait()
        n = sum(accepted)
        server, port = start(os.path.join(target, "devserver"), data, workers=True)
        try:
            start_at = time.time()
            c = Client(port)
            c.sign_in()
            while True:
                m = c.call("GET", "/api/v1/admin/metrics?time_range=1h")["data"]
                if m["reports_generated"] >= n and m["emails_sent"] >= 2 * n:
                    break
                if time.time() - start_at > 1800:
                    raise RuntimeError(f"not drained after 30 minutes: {m}")
                time.sleep(0.2)
            took = time.time() - start_at
        finally:
            server.terminate()
            server.wait()
    return n, n / load, n / took, took


def main():
    target = sys.argv[1]
    sizes = [int(s) for s in sys.argv[2:]] or [1000, 10000, 100000]
    # The drain first: it creates a file per report and e-mail, and on a file
    # system without a journal, ext4 skips every inode deleted in the last minutes
    # when it allocates one, so the seeded stores removed after the sizes' phases
    # would slow it for reasons of this machine, not of the server.
    n, accept, drained, took = drain(target)
    results = {size: measure(target, size) for size in sizes}
    base = results[sizes[0]]
    head = " | ".join(f"{s:,} stored (ms)" for s in sizes)
    ratios = " | ".join(f"{s:,} / {sizes[0]:,}" for s in sizes[1:])
    print(f"| request | {head} | {ratios} |")
    print("| --- |" + " --- |" * (2 * len(sizes) - 1))
    worst = 0.0
    for name in base:
        cells = " | ".join(f"{results[s][name]:.2f}" for s in sizes)
        rs = [results[s][name] / base[name] for s in sizes[1:]]
        worst = max([worst] + rs)
        print(f"| {name} | {cells} | " + " | ".join(f"{r:.2f}x" for r in rs) + " |")
    print(f"\nlargest ratio to the {sizes[0]:,} figure: {worst:.2f}x (budget 1.5x)")
    print(f"\ndrain: {n:,} inquiries accepted in {DRAIN_SECONDS} s by 8 clients ({accept:.0f}/s, workers off); "
          f"after a restart with the workers on, every report and both e-mails of each in {took:.1f} s: "
          f"{drained:.0f} inquiries/s ({drained / accept:.2f}x the accept rate)")


if __name__ == "__main__":
    main()
