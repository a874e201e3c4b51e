#!/usr/bin/env python3
"""A scripted session of the keystore CLI over a sealed file, passphrase on
fd 3 (never argv). Checks every command, that a wrong passphrase or a
damaged file is refused with a precise message and leaves the file
byte-for-byte as it was, and that bad usage exits 2."""
import hashlib
import os
import subprocess
import sys
import tempfile

exe = sys.argv[1]
PASS = b"correct horse battery staple\n"
# Cheap Argon2id for the test (recorded in the file's header).
COST = ["--ops", "1", "--mem", "65536"]


def ks(store, *args, passphrase=PASS, stdin=b"", cost=False):
    r, w = os.pipe()
    os.write(w, passphrase)
    os.close(w)
    cmd = [exe, "-f", store, "--passphrase-fd", "3"] + (COST if cost else []) + list(args)
    p = subprocess.run(cmd, input=stdin, capture_output=True, pass_fds=(r,),
                       preexec_fn=lambda: os.dup2(r, 3))
    os.close(r)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def ok(store, *args, **kw):
    rc, out, err = ks(store, *args, **kw)
    if rc != 0:
        sys.exit(f"{args}: exit {rc}\n{out}{err}")
    return out


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


with tempfile.TemporaryDirectory() as tmp:
    store = os.path.join(tmp, "keys.rvks")
    msg = os.path.join(tmp, "firmware.bin")
    with open(msg, "wb") as f:
        f.write(b"firmware image 1.0\n" * 100)

    ok(store, "init", cost=True)
    if os.stat(store).st_mode & 0o777 != 0o600:
        sys.exit("store is not mode 0600")
    rc, _, err = ks(store, "init")
    if rc != 1 or "exists" not in err:
        sys.exit(f"init over an existing store: {rc} {err}")
    ok(store, "gen", "signing", "ed25519")
    ok(store, "gen", "session", "sym")
    ok(store, "gen", "api-token", "secret", "48")
    ok(store, "add", "imported", "sym", stdin=(b"00112233445566778899aabbccddeeff" * 2) + b"\n")
    out = ok(store, "list")
    for line in ("api-token", "imported", "session", "signing"):
        if line not in out:
            sys.exit(f"list lacks {line}:\n{out}")
    if "48 bytes" not in out or "ed25519" not in out:
        sys.exit(f"list output:\n{out}")
    sig = ok(store, "sign", "signing", msg).strip()
    if len(sig) != 128:
        sys.exit(f"signature: {sig!r}")
    ok(store, "verify", "signing", sig, msg)
    bad = ("0" if sig[0] != "0" else "1") + sig[1:]
    rc, out, _ = ks(store, "verify", "signing", bad, msg)
    if rc != 1 or "INVALID" not in out:
        sys.exit(f"tampered signature accepted: {rc} {out}")
    pk = ok(store, "export-public", "signing").strip()
    if len(pk) != 64:
        sys.exit(f"public key: {pk!r}")
    ok(store, "rotate", "signing")
    rc, out, _ = ks(store, "verify", "signing", sig, msg)
    if rc != 1:
        sys.exit("old signature still valid after rotate")
    if ok(store, "export-public", "signing").strip() == pk:
        sys.exit("rotate kept the public key")
    if "v2" not in [l for l in ok(store, "list").splitlines() if "signing" in l][0]:
        sys.exit("rotate did not bump the version")
    ok(store, "rm", "api-token")
    if "api-token" in ok(store, "list"):
        sys.exit("rm did not remove")
    # The header keeps the cost chosen at init (ops 1, mem 65536).
    with open(store, "rb") as f:
        h = f.read(32)
    if int.from_bytes(h[16:24], "little") != 1 or int.from_bytes(h[24:32], "little") != 65536:
        sys.exit("Argon2id cost not kept across rewrites")

    # Wrong passphrase: precise error, file untouched.
    before = digest(store)
    rc, _, err = ks(store, "gen", "x", "sym", passphrase=b"wrong\n")
    if rc != 1 or "wrong passphrase" not in err or digest(store) != before:
        sys.exit(f"wrong passphrase: {rc} {err}")
    # A damaged byte in the body, and a truncated file.
    data = open(store, "rb").read()
    damaged = bytearray(data)
    damaged[200] ^= 0x04
    open(store, "wb").write(damaged)
    rc, _, err = ks(store, "gen", "x", "sym")
    if rc != 1 or "damaged" not in err or open(store, "rb").read() != damaged:
        sys.exit(f"damaged file: {rc} {err}")
    open(store, "wb").write(data[:100])
    rc, _, err = ks(store, "list")
    if rc != 1 or "RV_ETRUNCATED" not in err:
        sys.exit(f"truncated file: {rc} {err}")
    open(store, "wb").write(data)
    ok(store, "list")
    # Errors of commands.
    for args, want in ((["rm", "nope"], "RV_ENOTFOUND"), (["gen", "session", "sym"], "RV_EEXIST"),
                       (["sign", "session", msg], "RV_EINVAL"),
                       (["add", "short", "sym"], "RV_EINVAL")):
        rc, _, err = ks(store, *args, stdin=b"0011\n")
        if rc != 1 or want not in err:
            sys.exit(f"{args}: {rc} {err}")
    if digest(store) != hashlib.sha256(data).hexdigest():
        sys.exit("a failed command changed the file")

# The terminal path: the passphrase typed on a pseudo-terminal is not echoed.
import pty
import select
with tempfile.TemporaryDirectory() as tmp:
    store = os.path.join(tmp, "tty.rvks")
    ok(store, "init", cost=True)
    ok(store, "gen", "k", "sym")
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(exe, [exe, "-f", store, "list"])
    seen = b""
    sent = False
    while True:
        r, _, _ = select.select([fd], [], [], 30)
        if not r:
            sys.exit(f"tty session stalled: {seen!r}")
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if not sent and b"passphrase: " in seen:
            os.write(fd, PASS)
            sent = True
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or b"k " not in seen or b"horse" in seen:
        sys.exit(f"tty session: status {status}, output {seen!r}")

for bad in ([], ["-f"], ["-f", "x"], ["-f", "x", "frob"], ["-f", "x", "gen", "a", "rsa"],
            ["-f", "x", "--ops", "many", "list"], ["-f", "x", "rm"]):
    p = subprocess.run([exe] + bad, capture_output=True, text=True)
    if p.returncode != 2 or "usage" not in p.stderr:
        sys.exit(f"{bad}: rc={p.returncode} stderr={p.stderr!r}")
print("keystore-cli: ok")
