"""Cold start of each function binary under the Lambda Runtime Interface Emulator,
measured side by side with the minimal lambda_http baseline (hello-baseline).

Two baselines: hello-baseline, the canonical hello (`#[tokio::main]`, worker threads),
and hello-baseline-current-thread, the same hello on the single-threaded runtime the
functions use; the second ratio shows what the functions' own code costs.

Each sample is a fresh RIE process running the binary once; the figures are the
emulator's own `INIT REPORT(durationMs: ...)` for that first init and the `Duration`
of the first invocation that follows it, so that work moved out of the init into the
first request shows up. Binaries are interleaved run by run so drift on the machine
hits all of them alike.

Each binary, the baselines too, is first written afresh with plain writes, as Lambda
unpacks a function's zip, and measured from that copy. The file the linker leaves
behind starts measurably slower (about 0.4 ms for admin-api here): its pages sit in
the page cache in smaller pieces, so the start-up takes more page faults.

usage: bench_coldstart.py RUNS TARGET_DIR [BINARY ...]   (default: every function)
"""

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INIT = re.compile(r"INIT REPORT\(durationMs: ([0-9.]+)\)")
INVOKE = re.compile(r"REPORT RequestId: \S+\s+Init Duration: [0-9.]+ ms\s+Duration: ([0-9.]+) ms")

# binary -> event it is invoked with
FUNCTIONS = {
    "hello-baseline": "events/public-api/health.json",
    "hello-baseline-current-thread": "events/public-api/health.json",
    "public-api": "events/public-api/health.json",
    "outbox-relay": "events/outbox-relay/stream.json",
    "admin-api": "events/admin-api/login-wrong-password.json",
    "report-worker": "events/report-worker/batch-with-poison.json",
    "notify-worker": "events/notify-worker/inquiry-created.json",
    "chat-ws": "events/chat-ws/heartbeat.json",
}

# Configuration as in Lambda; the endpoint is a closed loopback port, since only
# the init is measured and an init must not call AWS.
ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    # One attempt: a call to the closed port fails at once instead of backing off, so
    # the first invocation's duration is the function's own work (the HTTPS connector
    # is built on the first call either way).
    "AWS_MAX_ATTEMPTS": "1",
    "TABLE_NAME": "bench",
    "REPORTS_QUEUE_URL": "http://127.0.0.1:9/000000000000/reports",
    "EVENTS_QUEUE_URL": "http://127.0.0.1:9/000000000000/events",
    "REPORTS_BUCKET": "bench",
    "CHAT_CALLBACK_URL": "http://127.0.0.1:9/dev",
    "MAIL_FROM": "no-reply@example.com",
    "CONSULTANT_EMAILS": '{"default": ["consultants@example.com"]}',
    "JWT_SECRET": "bench-signing-secret-that-is-long-enough",
    # An argon2id hash of "bench" (checked for shape at init, never verified here).
    "ADMIN_USERS": '[{"username": "bench", "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$/tf66Cz5bISw2cwMD7Gi7Q$Dy/9JZQQ1VYRTlt6MIXA0gZpaqYmSmEEjUh0ME1eAzg"}]',
    # As template.yaml sets it: one CA bundle file, not a scan of a certificate folder.
    "SSL_CERT_FILE": os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cold_start_ms(rie, binary, event_path):
    """(init, first invocation) in milliseconds, from one fresh emulator."""
    api, rapi = free_port(), free_port()
    with tempfile.TemporaryFile() as log:
        env = dict(ENV, PATH=os.environ.get("PATH", ""), AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256")
        proc = subprocess.Popen(
            [rie, "--log-level", "info", "--runtime-interface-emulator-address", f"127.0.0.1:{api}",
             "--runtime-api-address", f"127.0.0.1:{rapi}", binary],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            with open(event_path, "rb") as f:
                body = f.read()
            url = f"http://127.0.0.1:{api}/2015-03-31/functions/function/invocations"
            deadline = time.time() + 20
            while True:
                try:
                    urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=30).read()
                    break
                except urllib.error.HTTPError:
                    break  # the function answered (an error is fine: only the init counts)
                except (ConnectionError, urllib.error.URLError):
                    if time.time() > deadline:
                        raise
                    time.sleep(0.02)
        finally:
            proc.terminate()
            proc.wait()
        log.seek(0)
        text = log.read().decode(errors="replace")
    init, invoke = INIT.search(text), INVOKE.search(text)
    if not (init and invoke):
        raise SystemExit(f"no INIT REPORT or REPORT for {binary}:\n{text}")
    return float(init.group(1)), float(invoke.group(1))


def unpack(src, dst):
    """Writes `src` to `dst` in 1 MiB writes, as an unzip would, executable."""
    with open(src, "rb") as i, open(dst, "wb") as o:
        while chunk := i.read(1 << 20):
            o.write(chunk)
    os.chmod(dst, 0o755)


def main():
    runs, target = int(sys.argv[1]), sys.argv[2]
    baselines = ["hello-baseline", "hello-baseline-current-thread"]
    chosen = baselines + [n for n in sys.argv[3:] if n not in baselines]
    functions = {n: FUNCTIONS[n] for n in (chosen if sys.argv[3:] else FUNCTIONS)}
    rie = os.environ["RIE_BIN"]
    samples = {name: [] for name in functions}
    with tempfile.TemporaryDirectory(dir=target) as unpacked:
        for name in functions:
            unpack(os.path.join(target, name), os.path.join(unpacked, name))
        for _ in range(runs):
            for name, event in functions.items():
                samples[name].append(cold_start_ms(rie, os.path.join(unpacked, name), os.path.join(ROOT, event)))
    base, base_ct = (statistics.median(i for i, _ in samples[b]) for b in baselines)
    print("| binary | median init (ms) | min | max | ratio to hello-baseline "
          "| ratio to hello-baseline-current-thread | median first invocation (ms) "
          "| size (bytes) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, pairs in samples.items():
        xs = [i for i, _ in pairs]
        med = statistics.median(xs)
        first = statistics.median(d for _, d in pairs)
        size = os.path.getsize(os.path.join(target, name))
        print(f"| {name} | {med:.2f} | {min(xs):.2f} | {max(xs):.2f} | {med / base:.2f}x "
              f"| {med / base_ct:.2f}x | {first:.2f} | {size} |")
    print(f"\n{runs} cold starts each, interleaved.")


if __name__ == "__main__":
    main()
