"""The smoke test behind infra/scripts/smoke.sh: walks the path a prospect and a
consultant take through a running deployment (or the dev server), so a pipeline
promotes only what answers as the web form and the dashboard expect.

Usage: python smoke.py BASE_URL [WS_URL]. The admin user comes from SMOKE_USERNAME and
SMOKE_PASSWORD (never printed). Each step prints one line; the first failure prints
`smoke: FAILED <step>: <why>` and exits 1.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

REPORT_WAIT_S = float(os.environ.get("SMOKE_REPORT_TIMEOUT", "90"))
LIST_WAIT_S = float(os.environ.get("SMOKE_LIST_TIMEOUT", "30"))
CHAT_WAIT_S = float(os.environ.get("SMOKE_CHAT_TIMEOUT", "60"))
HTTP_TIMEOUT_S = 30


class Failed(Exception):
    pass


def request(method, url, body=None, headers=None):
    """(status, headers, parsed JSON or text) for one HTTP call; HTTP errors are answers."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("accept", "application/json")
    if data is not None:
        req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
            status, hdrs, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    except (urllib.error.URLError, OSError) as e:
        raise Failed(f"{method} {url}: {e}") from None
    text = raw.decode("utf-8", "replace")
    try:
        return status, hdrs, json.loads(text)
    except ValueError:
        return status, hdrs, text


def expect(cond, why):
    if not cond:
        raise Failed(why)


def short(value, n=200):
    s = value if isinstance(value, str) else json.dumps(value)
    return s if len(s) <= n else s[:n] + "…"


def ws_url_for(base):
    u = urllib.parse.urlsplit(base)
    scheme = "wss" if u.scheme == "https" else "ws"
    return urllib.parse.urlunsplit((scheme, u.netloc, "/api/v1/admin/chat/ws", "", ""))


def main(argv):
    if len(argv) < 2 or len(argv) > 3:
        print("usage: smoke.sh BASE_URL [WS_URL]", file=sys.stderr)
        return 2
    base = argv[1].rstrip("/")
    ws_url = argv[2] if len(argv) == 3 else ws_url_for(base)
    user, password = os.environ.get("SMOKE_USERNAME"), os.environ.get("SMOKE_PASSWORD")
    if not user or not password:
        print("smoke: SMOKE_USERNAME and SMOKE_PASSWORD must name an admin user of this deployment", file=sys.stderr)
        return 2
    step = "start"
    try:
        step = "health"
        status, _, body = request("GET", f"{base}/health")
        expect(status == 200 and isinstance(body, dict) and body.get("status") == "healthy",
               f"GET /health answered {status} {short(body)}")
        print(f"ok   health: {body.get('service')} {body.get('version')}")

        step = "services"
        status, _, body = request("GET", f"{base}/api/v1/config/services")
        ids = [s.get("id") for s in (body.get("data", {}).get("services", []) if isinstance(body, dict) else [])]
        expect(status == 200 and ids[:1] == ["assessment"] and "migration" in ids,
               f"GET /api/v1/config/services answered {status} {short(body)}")
        print(f"ok   services: {', '.join(ids)}")

        step = "inquiry"
        key = f"smoke-{uuid.uuid4()}"
        inquiry = {
            "name": "Smoke Test",
            "email": "smoke-test@example.com",
            "company": "Smoke Test Ltd",
            "services": ["migration"],
            "message": f"Smoke test of a deployment ({key}); please ignore.",
            "source": "contact_form",
        }
        status, _, body = request("POST", f"{base}/api/v1/inquiries", inquiry, {"Idempotency-Key": key})
        expect(status == 201 and isinstance(body, dict) and body.get("success") is True,
               f"POST /api/v1/inquiries answered {status} {short(body)}")
        inquiry_id = body["data"]["id"]
        expect(inquiry_id.startswith("inq_"), f"the inquiry id {inquiry_id!r} is not an inq_ id")
        print(f"ok   inquiry: {inquiry_id} created")

        step = "replay"
        status, hdrs, body = request("POST", f"{base}/api/v1/inquiries", inquiry, {"Idempotency-Key": key})
        replayed = hdrs.get("idempotency-replayed")
        expect(status == 201 and isinstance(body, dict) and body.get("data", {}).get("id") == inquiry_id,
               f"the replayed POST answered {status} {short(body)}, not inquiry {inquiry_id}")
        expect(replayed == "true", f"the replayed POST has idempotency-replayed: {replayed!r}, not 'true'")
        print(f"ok   replay: same inquiry, idempotency-replayed: {replayed}")

        step = "sign-in"
        status, _, body = request("POST", f"{base}/api/v1/auth/login", {"username": user, "password": password})
        expect(status == 200 and isinstance(body, dict) and body.get("token"),
               f"POST /api/v1/auth/login answered {status} {short(body) if status != 200 else ''}")
        auth = {"Authorization": f"Bearer {body['token']}"}
        print(f"ok   sign-in: token until {body.get('expires_at')}")

        step = "admin list"
        deadline = time.monotonic() + LIST_WAIT_S
        while True:
            status, _, body = request("GET", f"{base}/api/v1/admin/inquiries?limit=100", headers=auth)
            expect(status == 200 and isinstance(body, dict), f"GET /api/v1/admin/inquiries answered {status} {short(body)}")
            if any(i.get("id") == inquiry_id for i in body.get("data", [])):
                break
            expect(time.monotonic() < deadline, f"inquiry {inquiry_id} not in the admin list after {LIST_WAIT_S:.0f} s")
            time.sleep(1)
        print(f"ok   admin list: {inquiry_id} among {body.get('total')} inquiries")

        step = "report"
        deadline = time.monotonic() + REPORT_WAIT_S
        started = time.monotonic()
        while True:
            status, _, body = request("GET", f"{base}/api/v1/inquiries/{inquiry_id}/report", headers=auth)
            if status == 200:
                break
            expect(status == 404, f"GET /api/v1/inquiries/{inquiry_id}/report answered {status} {short(body)}")
            expect(time.monotonic() < deadline, f"no report for {inquiry_id} after {REPORT_WAIT_S:.0f} s")
            time.sleep(1)
        report = body.get("data", body) if isinstance(body, dict) else {}
        expect(report.get("inquiry_id") == inquiry_id and report.get("content"),
               f"the report is not for {inquiry_id} or is empty: {short(body)}")
        print(f"ok   report: {report.get('id')} by {report.get('generated_by')} "
              f"after {time.monotonic() - started:.1f} s")

        step = "chat"
        answer = chat(ws_url, auth["Authorization"][len("Bearer "):], inquiry_id)
        print(f"ok   chat: {len(answer['chunks'])} chunks, answer of {len(answer['content'])} characters "
              f"in session {answer['session_id']}")
    except Failed as e:
        print(f"smoke: FAILED {step}: {e}", file=sys.stderr)
        return 1
    print("smoke: all steps passed")
    return 0


def chat(ws_url, token, inquiry_id):
    """One question over the chat WebSocket: ack, chunks, then the whole answer."""
    try:
        from websockets.sync.client import connect
        from websockets.exceptions import InvalidStatus, WebSocketException
    except ImportError:
        raise Failed("the websockets package is missing (source infra/scripts/tools.sh)") from None
    sep = "&" if "?" in ws_url else "?"
    url = f"{ws_url}{sep}token={urllib.parse.quote(token)}"
    deadline = time.monotonic() + CHAT_WAIT_S
    question = {
        "type": "message",
        "message_id": f"smoke-{uuid.uuid4().hex[:8]}",
        "session_id": "",
        "content": "What should we propose first?",
        "metadata": {"client_name": "Smoke Test Ltd", "context": {"inquiry_id": inquiry_id}},
    }
    chunks, acked = [], False
    try:
        with connect(url, open_timeout=HTTP_TIMEOUT_S, max_size=2**20) as ws:
            ws.send(json.dumps(question))
            while True:
                left = deadline - time.monotonic()
                expect(left > 0, f"no whole answer within {CHAT_WAIT_S:.0f} s ({len(chunks)} chunks so far)")
                frame = json.loads(ws.recv(timeout=left))
                kind = frame.get("type")
                if kind == "ack":
                    expect(frame.get("message_id") == question["message_id"], f"ack for another message: {short(frame)}")
                    acked = True
                elif kind == "chunk":
                    chunks.append(frame.get("content", ""))
                elif kind == "message":
                    expect(acked, "the answer came before the ack")
                    meta = frame.get("metadata") or {}
                    expect(meta.get("success") is True and frame.get("content"),
                           f"the answer is not a success: {short(frame)}")
                    return {"chunks": chunks, "content": frame["content"], "session_id": frame.get("session_id")}
                elif kind == "error":
                    raise Failed(f"error frame: {short(frame)}")
    except InvalidStatus as e:
        raise Failed(f"the WebSocket upgrade was refused: HTTP {e.response.status_code}") from None
    except TimeoutError:
        raise Failed(f"no whole answer within {CHAT_WAIT_S:.0f} s ({len(chunks)} chunks so far)") from None
    except (WebSocketException, OSError) as e:
        raise Failed(f"WebSocket {ws_url}: {e}") from None


if __name__ == "__main__":
    sys.exit(main(sys.argv))
