"""Dev-server throughput under wrk: GET /health (the baseline) and POST /api/v1/inquiries
side by side on one release dev server over the embedded adapters, then the time until
every accepted inquiry has its report and its two e-mails (prospect and consultants).

usage: bench_wrk.py DEVSERVER_BINARY [SECONDS] [CONNECTIONS]
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The cold-start benchmark's helpers and sign-in (user "bench", password "bench").
from bench_coldstart import ROOT, free_port  # noqa: E402
from bench_scale import server_env  # noqa: E402



def call(url, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=30) as r:
        return json.loads(r.read())


def wrk(base, seconds, conns, script=None, path="/health"):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [base + path], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    p99 = re.search(r"99%\s+([0-9.]+\w+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(non2xx.group(1)) if non2xx else 0


def main():
    binary = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([binary], env=server_env(port, data, workers=True), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 20
            while True:
                try:
                    call(base + "/health")
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)
            health = wrk(base, seconds, conns)
            post = wrk(base, seconds, conns, script=os.path.join(ROOT, "infra/bench/wrk/post-inquiry.lua"),
                       path="/api/v1/inquiries")
            token = call(base + "/api/v1/auth/login", {"username": "bench", "password": "bench"})["token"]
            start = time.time()
            while True:
                m = call(base + "/api/v1/admin/metrics?time_range=1h", token=token)["data"]
                done = m["reports_generated"] >= m["total_inquiries"] and m["emails_sent"] >= 2 * m["total_inquiries"]
                if done or time.time() - start > 1800:
                    break
                time.sleep(0.5)
            drain = time.time() - start
        finally:
            server.terminate()
            server.wait()
    print("| load | requests/s | p99 | non-2xx | ratio to baseline (requests/s) |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| GET /health (baseline) | {health[0]:.0f} | {health[1]} | {health[2]} | 1.00x |")
    print(f"| POST /api/v1/inquiries | {post[0]:.0f} | {post[1]} | {post[2]} | {post[0] / health[0]:.2f}x |")
    print(f"\n{m['total_inquiries']} inquiries accepted; {m['reports_generated']} reports and "
          f"{m['emails_sent']} e-mails {'all done' if done else 'NOT all done'} {drain:.1f} s after the load ended.")


if __name__ == "__main__":
    main()
