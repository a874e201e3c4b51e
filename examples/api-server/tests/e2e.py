#!/usr/bin/env python3
"""End-to-end test of examples/api-server: the real binary on 127.0.0.1.

Usage: e2e.py API_SERVER_BINARY CHECK_PROM_PY

keygen + token into a temp dir, then servers on port 0 (the "listening" log
line gives the port) driven with curl (and raw sockets where curl cannot do
it): every endpoint's success and main error cases, auth (missing, bad,
expired, wrong scope, EdDSA key, rotated key), strict JSON (bad JSON,
unknown field, wrong type, wrong content type, 413), a slow body (408 or
close, while others are served), 429 with Retry-After, admin feature flags,
/metrics through the strict Prometheus checker, 8 concurrent clients,
config file + flag precedence and errors, SIGTERM drain (readyz 503, an
in-flight request completes, exit 0), and the CLI's exit codes.

Every server is killed on the way out, whatever happens. No timing is
asserted: waits are bounded, generous, and only decide when to give up.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.abspath(sys.argv[1])
CHECK_PROM = os.path.abspath(sys.argv[2])
TMP = tempfile.mkdtemp(prefix="api-e2e-")
PASS = "correct horse battery staple"
ENV = dict(os.environ, API_SERVER_PASSPHRASE=PASS)
SERVERS = []
START_WAIT = 60.0  # ASan builds start slowly on a loaded machine


def run(args, env=ENV, timeout=60):
    return subprocess.run([BIN] + args, capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=TMP)


class Server:
    """api-server serve on a free port; its log goes to a file."""

    def __init__(self, *args, env=ENV, name="srv"):
        self.log = os.path.join(TMP, f"{name}-{len(SERVERS)}.log")
        self.errf = open(self.log, "w")
        self.p = subprocess.Popen(
            [BIN, "serve", "--listen-port", "0", "--db-path", os.path.join(TMP, f"{name}.db"),
             *args], stdout=subprocess.DEVNULL, stderr=self.errf, env=env, cwd=TMP)
        SERVERS.append(self)
        self.port = self.wait_listening(self.log)

    def wait_listening(self, path):
        end = time.monotonic() + START_WAIT
        while time.monotonic() < end:
            for rec in read_log(path):
                if rec.get("msg") == "listening":
                    return int(rec["port"])
            if self.p.poll() is not None:
                raise AssertionError(f"server exited {self.p.returncode}: {open(self.log).read()}")
            time.sleep(0.05)
        raise AssertionError("server did not report its port")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout=60)
        finally:
            self.errf.close()
        return rc

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.errf.close()


def read_log(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # a line being written
    return out


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def h(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:300]!r}>"


def curl(method, url, token=None, body=None, ctype="application/json", headers=()):
    """One request with curl; returns Resp (status, lower-case headers, body)."""
    args = ["curl", "-sS", "-i", "--max-time", "30", "-X", method, "-H", "Expect:"]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    if body is not None:
        args += ["-H", f"Content-Type: {ctype}", "--data-binary", "@-"]
    for h in headers:
        args += ["-H", h]
    r = subprocess.run(args + [url], input=body.encode() if isinstance(body, str) else body,
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"curl {method} {url} failed: {r.stderr.decode()}")
    raw = r.stdout
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return Resp(status, hdrs, rest.decode("utf-8", errors="replace"))


def expect(r, status, code=None):
    assert r.status == status, f"want {status}, got {r!r}"
    if code is not None:
        err = r.json().get("error", {})
        assert err.get("code") == code, f"want error code {code}, got {r!r}"
        assert err.get("message"), f"no error message: {r!r}"
    return r


def token(scope, sub="alice", ttl="1h", extra=()):
    r = run(["token", "--sub", sub, "--scope", scope, "--ttl", ttl, *extra])
    assert r.returncode == 0, f"token: {r.returncode} {r.stderr}"
    t = r.stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", t), t
    return t


# ---------------------------------------------------------------- checks

def check_cli():
    r = run(["--help"])
    assert r.returncode == 0 and "--listen-port" in r.stdout and "--[no-]auth" in r.stdout
    assert "keygen" in r.stdout and "token" in r.stdout and "--config FILE" in r.stdout
    for args, word in [(["--bogus"], "--bogus"), (["--workers", "0"], "--workers"),
                       (["frobnicate"], "frobnicate"), (["serve", "extra"], "extra"),
                       (["--listen-port"], "--listen-port"),
                       (["--config", "/nonexistent/x.conf"], "/nonexistent/x.conf"),
                       (["token", "--scope", "read"], "--sub"),
                       (["token", "--sub", "a", "--scope", "root"], "--scope"),
                       (["token", "--sub", "a", "--ttl", "5"], "--ttl"),
                       (["keygen", "--type", "rsa"], "--type")]:
        r = run(args)
        assert r.returncode == 2, f"{args}: exit {r.returncode}, want 2 ({r.stderr})"
        assert word in r.stderr, f"{args}: {r.stderr!r} does not name {word}"
    env = {k: v for k, v in ENV.items() if k != "API_SERVER_PASSPHRASE"}
    r = run(["token", "--sub", "a"], env=env)
    assert r.returncode == 2 and "passphrase" in r.stderr, r
    r = run(["serve", "--listen-port", "0"], env=env)
    assert r.returncode == 2 and "API_SERVER_PASSPHRASE" in r.stderr, r
    # Keys.
    r = run(["keygen"])
    assert r.returncode == 0 and "api-signing.v1" in r.stdout, r
    assert os.stat(os.path.join(TMP, "api-server.keys")).st_mode & 0o077 == 0
    r = run(["keygen"])
    assert r.returncode == 1 and "already holds" in r.stderr, r
    r = run(["token", "--sub", "a"], env=dict(ENV, API_SERVER_PASSPHRASE="wrong"))
    assert r.returncode == 1 and "wrong passphrase" in r.stderr, r
    pf = os.path.join(TMP, "pass.txt")
    with open(pf, "w") as f:
        f.write(PASS + "\n")
    r = run(["keygen", "--type", "ed25519", "--key-name", "ed", "--passphrase-file", pf], env=env)
    assert r.returncode == 0 and "ed.v1 (EdDSA)" in r.stdout, r
    r = run(["token", "--sub", "a", "--key-name", "nokey"])
    assert r.returncode == 1 and "no key named 'nokey'" in r.stderr, r
    print("ok cli: --help, usage errors exit 2, keygen, passphrase sources, exit codes")


def check_endpoints(s, adm, wr, rd):
    expect(curl("GET", s.url("/healthz")), 200)
    expect(curl("GET", s.url("/readyz")), 200)
    r = expect(curl("GET", s.url("/v1/info"), rd), 200)
    assert r.json()["api"] == "v1" and r.h("x-request-id") and r.h("traceparent"), r
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    r = curl("GET", s.url("/v1/info"), rd, headers=[f"traceparent: {tp}"])
    assert r.h("traceparent").startswith("00-0af7651916cd43dd8448eb211c80319c-"), r
    assert r.h("ratelimit-limit") and r.h("ratelimit-remaining"), r
    # Auth.
    r = expect(curl("GET", s.url("/v1/devices")), 401)
    assert r.h("www-authenticate") == 'Bearer realm="rivet"', r
    r = expect(curl("GET", s.url("/v1/devices"), "not.a.token"), 401)
    assert 'error="invalid_token"' in r.h("www-authenticate"), r
    r = expect(curl("POST", s.url("/v1/devices"), rd, '{"id":"x","name":"x"}'), 403)
    assert 'error="insufficient_scope"' in r.h("www-authenticate"), r
    assert 'scope="write"' in r.h("www-authenticate"), r
    expect(curl("GET", s.url("/v1/admin/flags"), wr), 403)
    # Devices: create, conflict, get, patch with If-Match, list, delete.
    r = expect(curl("POST", s.url("/v1/devices"), wr,
                    '{"id":"dev-1","name":"Boiler room","model":"env1","firmware":"1.2.0"}'), 201)
    assert r.h("location") == "/v1/devices/dev-1", r
    d = r.json()
    assert d["id"] == "dev-1" and d["status"] == "active" and d["version"] == 1, d
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", d["created_at"]), d
    expect(curl("POST", s.url("/v1/devices"), wr, '{"id":"dev-1","name":"again"}'), 409, "conflict")
    r = expect(curl("GET", s.url("/v1/devices/dev-1"), rd), 200)
    assert r.h("etag") == '"1"' and r.json()["name"] == "Boiler room", r
    expect(curl("GET", s.url("/v1/devices/nope"), rd), 404, "not_found")
    r = expect(curl("PATCH", s.url("/v1/devices/dev-1"), wr, '{"status":"disabled"}',
                    headers=['If-Match: "1"']), 200)
    assert r.json()["version"] == 2 and r.json()["status"] == "disabled" and r.h("etag") == '"2"'
    expect(curl("PATCH", s.url("/v1/devices/dev-1"), wr, '{"name":"x"}',
                headers=['If-Match: "1"']), 412)
    expect(curl("PATCH", s.url("/v1/devices/nope"), wr, '{"name":"x"}'), 404, "not_found")
    # Strict JSON bodies.
    expect(curl("POST", s.url("/v1/devices"), wr, '{"id":"d2",'), 400, "bad_json")
    expect(curl("POST", s.url("/v1/devices"), wr, '{"id":"d2","name":"n","color":"red"}'), 400,
           "unknown_field")
    r = expect(curl("POST", s.url("/v1/devices"), wr, '{"id":"d2","name":5}'), 400, "invalid_type")
    assert "name" in r.json()["error"]["message"], r
    expect(curl("POST", s.url("/v1/devices"), wr, '[1,2]'), 400)
    expect(curl("POST", s.url("/v1/devices"), wr, '{"id":".hidden","name":"n"}'), 400)
    expect(curl("POST", s.url("/v1/devices"), wr, 'id=d2', ctype="text/plain"), 415)
    big = '{"id":"d3","name":"' + "x" * 8000 + '"}'
    expect(curl("POST", s.url("/v1/devices"), wr, big), 413)
    expect(curl("POST", s.url("/v1/devices"), wr,
                '{"id":"d2","name":"n"}', ctype="application/json; charset=utf-8"), 201)
    # List with pagination across pages.
    for i in range(3, 8):
        expect(curl("POST", s.url("/v1/devices"), wr, json.dumps({"id": f"d{i}", "name": "n"})), 201)
    seen, cursor, pages = [], None, 0
    while True:
        q = "/v1/devices?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = expect(curl("GET", s.url(q), rd), 200).json()
        seen += [d["id"] for d in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor), cursor
    assert seen == sorted(seen) and len(seen) == 7 and pages == 4, (seen, pages)
    expect(curl("GET", s.url("/v1/devices?cursor=!!!!"), rd), 400, "bad_cursor")
    expect(curl("GET", s.url("/v1/devices?cursor=AAAA"), rd), 400, "bad_cursor")
    expect(curl("GET", s.url("/v1/devices?limit=0"), rd), 400)
    expect(curl("GET", s.url("/v1/devices?limit=501"), rd), 400)
    # Telemetry.
    pts = {"points": [{"ts": "2026-11-23T10:00:00.000Z", "metric": "temp_c", "value": 21.5},
                      {"ts": 1795428000500, "metric": "temp_c", "value": 21.75},
                      {"ts": "2026-11-23T10:00:01.000Z", "metric": "rh", "value": 40}]}
    r = expect(curl("POST", s.url("/v1/devices/dev-1/telemetry"), wr, json.dumps(pts)), 202)
    assert r.json() == {"accepted": 3}, r
    expect(curl("POST", s.url("/v1/devices/nope/telemetry"), wr, json.dumps(pts)), 404)
    expect(curl("POST", s.url("/v1/devices/dev-1/telemetry"), wr, '{"points":[]}'), 400)
    expect(curl("POST", s.url("/v1/devices/dev-1/telemetry"), wr,
                '{"points":[{"ts":1,"metric":"bad metric!","value":1}]}'), 400)
    r = expect(curl("GET", s.url("/v1/devices/dev-1/telemetry?from=2026-11-23T00:00:00.000Z"), rd),
               200)
    got = r.json()["points"]
    assert [p["metric"] for p in got] == ["temp_c", "temp_c", "rh"], got
    assert got[0]["ts"] == "2026-11-23T10:00:00.000Z" and got[0]["value"] == 21.5, got
    r = expect(curl("GET", s.url("/v1/devices/dev-1/telemetry?from=0&metric=rh"), rd), 200)
    assert [p["value"] for p in r.json()["points"]] == [40], r
    r = expect(curl("GET", s.url("/v1/devices/dev-1/telemetry?from=0&limit=2"), rd), 200).json()
    assert len(r["points"]) == 2 and r["next_cursor"], r
    r2 = expect(curl("GET", s.url("/v1/devices/dev-1/telemetry?from=0&limit=2&cursor="
                                  + r["next_cursor"]), rd), 200).json()
    assert len(r2["points"]) == 1 and r2["next_cursor"] is None, r2
    expect(curl("GET", s.url("/v1/devices/dev-1/telemetry"), rd), 400)
    expect(curl("GET", s.url("/v1/devices/nope/telemetry?from=0"), rd), 404)
    # Delete (with its telemetry).
    expect(curl("DELETE", s.url("/v1/devices/dev-1"), wr), 204)
    expect(curl("GET", s.url("/v1/devices/dev-1"), rd), 404)
    expect(curl("DELETE", s.url("/v1/devices/dev-1"), wr), 404)
    # Unknown route and method.
    expect(curl("GET", s.url("/v2/nothing"), rd), 404)
    expect(curl("PUT", s.url("/v1/devices"), wr, "{}"), 405)
    print("ok endpoints: devices, pagination, telemetry, auth, strict JSON, 413, 415")


def check_flags(s, adm, wr):
    r = expect(curl("GET", s.url("/v1/admin/flags"), adm), 200)
    assert r.json() == {"telemetry_ingest": True, "device_writes": True, "access_log": True}, r
    r = expect(curl("PUT", s.url("/v1/admin/flags"), adm, '{"device_writes":false}'), 200)
    assert r.json()["device_writes"] is False and r.json()["telemetry_ingest"] is True, r
    expect(curl("POST", s.url("/v1/devices"), wr, '{"id":"off","name":"n"}'), 503)
    expect(curl("PUT", s.url("/v1/admin/flags"), adm, '{"warp_drive":true}'), 400)
    expect(curl("PUT", s.url("/v1/admin/flags"), adm, '{"device_writes":"yes"}'), 400)
    expect(curl("PUT", s.url("/v1/admin/flags"), adm, '{"device_writes":true}'), 200)
    expect(curl("POST", s.url("/v1/devices"), wr, '{"id":"on","name":"n"}'), 201)
    changes = [r for r in wait_log(s.log, lambda rs: sum(r.get("flag") == "device_writes"
                                                         for r in rs) >= 2)
               if r.get("flag") == "device_writes"]
    assert changes and all(c.get("sub") == "root" for c in changes), changes
    print("ok admin flags: toggled, writes refused while off, change logged with sub")


def check_metrics(s):
    r = expect(curl("GET", s.url("/metrics")), 200)
    assert r.h("content-type").startswith("text/plain; version=0.0.4"), r
    path = os.path.join(TMP, "metrics.txt")
    with open(path, "w") as f:
        f.write(r.body)
    c = subprocess.run([sys.executable, CHECK_PROM, path], capture_output=True, text=True)
    assert c.returncode == 0, f"check-prom: {c.stdout}{c.stderr}"
    for name in ["api_http_requests_total{", "api_http_request_duration_seconds_bucket{",
                 "api_http_requests_in_flight", "api_auth_failures_total",
                 "api_telemetry_points_total", "api_server_workers"]:
        assert name in r.body, f"/metrics lacks {name}"
    assert 'route="/v1/devices/:id"' in r.body, "route label is not the pattern"
    assert "/v1/devices/dev-1" not in r.body, "raw path in a label"
    print("ok metrics: strict 0.0.4 check passed, route patterns as labels")


def wait_log(path, pred, timeout=10.0):
    """The log's records once pred(records) holds: lines are written in
    batches (log_flush, 100 ms by default), so they lag the responses."""
    deadline = time.monotonic() + timeout
    while True:
        recs = read_log(path)
        if pred(recs) or time.monotonic() > deadline:
            return recs
        time.sleep(0.05)


def check_logs(s, tokens):
    recs = wait_log(s.log, lambda rs: sum(r.get("msg") == "request" for r in rs) > 20)
    reqs = [r for r in recs if r.get("msg") == "request"]
    assert len(reqs) > 20, len(reqs)
    for r in reqs:
        for k in ("request_id", "method", "path", "status", "duration_us", "peer"):
            assert k in r, f"access log line lacks {k}: {r}"
    text = open(s.log, encoding="utf-8", errors="replace").read()
    for t in tokens:
        assert t not in text and t.split(".")[2] not in text, "a token reached the log"
    print(f"ok logs: {len(reqs)} access lines with request ids, no token text")


def check_concurrent(s, wr, rd):
    expect(curl("POST", s.url("/v1/devices"), wr, '{"id":"conc","name":"n"}'), 201)
    n_threads, n_req = 8, 50
    errors, statuses = [], {}
    lock = threading.Lock()

    def client(k):
        try:
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
            for i in range(n_req):
                if i % 2 == 0:
                    body = json.dumps({"points": [{"ts": 1000 + k * 1000 + i, "metric": f"m{k}",
                                                   "value": i}]})
                    c.request("POST", "/v1/devices/conc/telemetry", body,
                              {"Authorization": f"Bearer {wr}",
                               "Content-Type": "application/json"})
                else:
                    c.request("GET", "/v1/devices/conc", headers={"Authorization": f"Bearer {rd}"})
                resp = c.getresponse()
                resp.read()
                with lock:
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
            c.close()
        except Exception as e:  # reported below
            with lock:
                errors.append(repr(e))

    th = [threading.Thread(target=client, args=(k,)) for k in range(n_threads)]
    for t in th:
        t.start()
    for t in th:
        t.join(120)
    assert not errors, errors
    assert sum(statuses.values()) == n_threads * n_req, statuses
    assert set(statuses) <= {200, 202, 503}, statuses
    accepted = statuses.get(202, 0)
    r = expect(curl("GET", s.url("/v1/devices/conc/telemetry?from=0&limit=500"), rd), 200).json()
    assert len(r["points"]) == accepted, (len(r["points"]), statuses)
    print(f"ok concurrent: {n_threads}x{n_req} answered {statuses}, {accepted} points stored")


def check_rate_limit():
    s = Server("--rate-per-addr", "5", "--no-auth", name="rl")
    try:
        seen = []
        for _ in range(8):
            seen.append(curl("GET", s.url("/v1/info")))
        statuses = [r.status for r in seen]
        assert statuses[:5] == [200] * 5 and 429 in statuses, statuses
        r = next(r for r in seen if r.status == 429)
        assert int(r.h("retry-after")) >= 1 and r.h("ratelimit-limit"), r
        assert r.json()["error"]["code"] == "rate_limited", r
        assert s.stop() == 0
    finally:
        s.kill()
    print("ok rate limit: 429 with Retry-After and RateLimit-* after 5 requests")


def raw_request(port, data, timeout=30):
    sk = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sk.sendall(data)
    return sk


def check_slow_body(s, wr):
    head = (f"POST /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {wr}\r\n"
            "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n").encode()
    sk = raw_request(s.port, head + b'{"id":"slow","name":"')
    got = b""
    try:
        # Dribble a byte every 100 ms for at most 60 s: the body timeout
        # (1 s here) must end it with 408 or a close, however long we go on.
        end = time.monotonic() + 60
        sk.settimeout(0.1)
        while time.monotonic() < end:
            try:
                sk.sendall(b"x")
            except OSError:
                break
            try:
                chunk = sk.recv(4096)
                if not chunk:
                    break
                got += chunk
            except socket.timeout:
                continue
            except OSError:
                break
        assert time.monotonic() < end, "the slow body was never cut off"
        # Others are still served.
        expect(curl("GET", s.url("/healthz")), 200)
    finally:
        sk.close()
    assert got == b"" or got.startswith(b"HTTP/1.1 408"), got[:200]
    print(f"ok slow body: {'408' if got else 'closed'}; the server still answers others")


def check_expired_and_keys(rd_expired):
    # jwt_leeway 0: the 1 s token is expired by now.
    s = Server("--jwt-leeway", "0s", name="exp")
    try:
        r = expect(curl("GET", s.url("/v1/info"), rd_expired), 401)
        assert 'error="invalid_token"' in r.h("www-authenticate") and "exp" in r.h("www-authenticate")
        assert s.stop() == 0
    finally:
        s.kill()
    # An EdDSA key: the server pins its public key; the HS256 token is refused.
    ed = token("read", extra=["--key-name", "ed"])
    hs = token("read")
    s = Server("--key-name", "ed", name="ed")
    try:
        expect(curl("GET", s.url("/v1/info"), ed), 200)
        expect(curl("GET", s.url("/v1/info"), hs), 401)
        assert s.stop() == 0
    finally:
        s.kill()
    # Rotation: version 2 signs, tokens of version 1 stop working.
    r = run(["keygen", "--rotate"])
    assert r.returncode == 0 and "api-signing.v2" in r.stdout, r
    v2 = token("read")
    s = Server(name="rot")
    try:
        expect(curl("GET", s.url("/v1/info"), v2), 200)
        expect(curl("GET", s.url("/v1/info"), hs), 401)
        assert s.stop() == 0
    finally:
        s.kill()
    print("ok keys: expired token 401, EdDSA key pinned, rotation retires v1 tokens")


def check_config_file():
    cf = os.path.join(TMP, "api.conf")
    logf = os.path.join(TMP, "from-config.log")
    with open(cf, "w") as f:
        f.write(f"# test config\nlisten_port = 1\nworkers = 2\nlog_file = {logf}\n"
                "auth = false\nmax_body = 2K\n")
    # The file says port 1 (privileged: would fail); the flag wins.
    p = subprocess.Popen([BIN, "--config", cf, "--listen-port", "0", "--max-body=64K",
                          "--db-path", os.path.join(TMP, "cfg.db")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV,
                         cwd=TMP)
    s = Server.__new__(Server)
    s.p, s.log, s.errf = p, logf, open(os.devnull, "w")
    SERVERS.append(s)
    try:
        s.port = s.wait_listening(logf)
        rec = next(r for r in read_log(logf) if r.get("msg") == "listening")
        assert rec["workers"] == 2 and rec["auth"] is False, rec
        # max_body: the flag's 64K, not the file's 2K.
        body = json.dumps({"id": "cfg", "name": "n" * 100, "model": "m"})
        expect(curl("POST", s.url("/v1/devices"), None, body + " " * 4000), 201)
        assert s.stop() == 0
        warn = p.stderr.read()
        assert "WARNING: authentication is OFF" in warn, warn
    finally:
        s.kill()
    for text, where in [("workers = 2\nworkers = 3\n", ":2: duplicate key"),
                        ("listen_port = 8080\nfoo = 1\n", ":2: unknown key 'foo'"),
                        ("body_timeout = 10\n", ":1: body_timeout:")]:
        with open(cf, "w") as f:
            f.write(text)
        r = run(["--config", cf])
        assert r.returncode == 2 and f"{cf}{where}" in r.stderr, (text, r.returncode, r.stderr)
    print("ok config: file read, flags win, errors name FILE:LINE and exit 2")


def check_drain():
    adm = token("admin", sub="root")  # after the rotation: signed by v2
    s = Server("--drain-delay", "60s", "--drain-timeout", "5s", name="drain")
    try:
        part1, part2 = b'{"id":"inflight",', b'"name":"n"}'
        head = (f"POST /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {adm}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(part1) + len(part2)}\r\n\r\n").encode()
        sk = raw_request(s.port, head + part1)
        time.sleep(0.2)  # let the server read the head (not a timing assertion)
        s.p.send_signal(signal.SIGTERM)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            r = curl("GET", s.url("/readyz"))
            if r.status == 503:
                break
            time.sleep(0.05)
        assert r.status == 503, r
        expect(curl("GET", s.url("/healthz")), 200)
        sk.sendall(part2)
        sk.settimeout(30)
        resp = b""
        while b"\r\n\r\n" not in resp:
            chunk = sk.recv(4096)
            if not chunk:
                break
            resp += chunk
        sk.close()
        assert resp.startswith(b"HTTP/1.1 201"), resp[:200]
        s.p.send_signal(signal.SIGTERM)  # second signal: end the drain delay
        rc = s.stop()
        assert rc == 0, f"exit {rc}"
        msgs = [r.get("msg") for r in read_log(s.log)]
        assert "draining" in msgs and msgs[-1] == "stopped", msgs[-5:]
    finally:
        s.kill()
    print("ok drain: readyz 503 while draining, the in-flight request completed, exit 0")


def main():
    check_cli()
    adm, wr, rd = token("admin", sub="root"), token("write"), token("read")
    expired = token("read", ttl="1s")
    expired_at = time.monotonic() + 1.0
    s = Server("--max-body", "4K", "--body-timeout", "1s", "--workers", "2", name="main")
    try:
        check_endpoints(s, adm, wr, rd)
        check_flags(s, adm, wr)
        check_concurrent(s, wr, rd)
        check_slow_body(s, wr)
        check_metrics(s)
        check_logs(s, [adm, wr, rd])
        rc = s.stop()
        assert rc == 0, f"SIGTERM: exit {rc}"
    finally:
        s.kill()
    check_rate_limit()
    # The 1 s token must be past its exp (whole seconds; leeway 0 below).
    time.sleep(max(0.0, expired_at + 1.5 - time.monotonic()))
    check_expired_and_keys(expired)
    check_config_file()
    check_drain()
    print("all end-to-end checks passed")


if __name__ == "__main__":
    code = 1
    try:
        main()
        code = 0
    except BaseException as e:
        import traceback
        traceback.print_exc()
        for srv in SERVERS:
            try:
                print(f"--- {srv.log} ---\n" + open(srv.log, errors="replace").read()[-4000:],
                      file=sys.stderr)
            except OSError:
                pass
    finally:
        for srv in SERVERS:
            srv.kill()
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(code)
