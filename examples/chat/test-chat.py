#!/usr/bin/env python3
"""Scripted test of examples/chat: the protocol, a slow reader that must
pause the room's writers (bounded memory, nothing dropped), and graceful
shutdown on SIGTERM. Usage: test-chat.py CHAT_BINARY"""
import re
import signal
import socket
import subprocess
import sys
import time


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def send(self, line):
        self.s.sendall(line.encode() + b"\n")

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk
        out, self.buf = self.buf.split(b"\n", 1)
        return out.decode()


def expect(c, want):
    got = c.line()
    if not re.fullmatch(want, got):
        raise AssertionError(f"expected {want!r}, got {got!r}")


def main():
    chat = subprocess.Popen([sys.argv[1], "-p", "0"], stderr=subprocess.PIPE, text=True)
    try:
        m = re.search(r'"port":(\d+)', chat.stderr.readline())
        port = int(m.group(1))
        alice, bob = Client(port), Client(port)
        expect(alice, r"HELLO guest\d+")
        expect(bob, r"HELLO guest\d+")
        alice.send("NICK alice")
        expect(alice, "OK nick alice")
        alice.send("NICK bad name!")
        expect(alice, "ERR bad name")
        alice.send("MSG nobody")
        expect(alice, "ERR not in a room")
        alice.send("JOIN lobby")
        expect(alice, "OK join lobby")
        bob.send("NICK bob")
        expect(bob, "OK nick bob")
        bob.send("JOIN lobby")
        expect(bob, "OK join lobby")
        expect(alice, r"\* bob joined")
        alice.send("MSG hello bob")
        expect(bob, "alice: hello bob")
        bob.send("WHO")
        expect(bob, "WHO( alice| bob){2}")
        bob.send("FLY")
        expect(bob, "ERR unknown command")
        # A line split across two segments is one command.
        bob.s.sendall(b"MSG in two ")
        time.sleep(0.05)
        bob.s.sendall(b"parts\r\n")
        expect(alice, "alice: in two parts".replace("alice", "bob"))
        bob.send("QUIT")
        expect(bob, "BYE")
        assert bob.s.recv(10) == b"", "expected EOF after QUIT"
        expect(alice, r"\* bob left")

        # Slow reader: carol never reads while dave floods the room.
        carol, dave = Client(port), Client(port)
        for c, n in ((carol, "carol"), (dave, "dave")):
            expect(c, r"HELLO guest\d+")
            c.send(f"NICK {n}")
            expect(c, f"OK nick {n}")
            c.send("JOIN flood")
            expect(c, "OK join flood")
        expect(carol, r"\* dave joined")
        base = rss_kb(chat.pid)
        line = ("MSG " + "x" * 400 + "\n").encode()
        dave.s.settimeout(0.2)
        sent = 0
        end = time.time() + 3
        while time.time() < end:
            try:
                dave.s.sendall(line * 50)
                sent += 50
            except socket.timeout:
                break  # dave is paused: his socket filled up
        grew = rss_kb(chat.pid) - base
        print(f"flood: dave sent {sent} lines before being paused; chat RSS grew {grew} KiB")
        assert sent < 200000, "dave was never paused"
        assert grew < 16 * 1024, f"server memory grew {grew} KiB"
        # dave's partially sent batch: finish it so every line is whole.
        dave.s.settimeout(10)
        # Now carol reads: every line dave got into the server arrives.
        got = 0
        carol.s.settimeout(1.5)
        try:
            while True:
                ln = carol.line()
                if ln.startswith("dave: "):
                    got += 1
        except (socket.timeout, EOFError):
            pass
        print(f"flood: carol received {got} lines")
        assert got >= sent, f"lines lost: sent {sent}, received {got}"
        alice.send("JOIN flood")
        expect(alice, "OK join flood")
        chat.send_signal(signal.SIGTERM)
        rc = chat.wait(timeout=10)
        assert rc == 0, f"chat exited {rc}"
        logs = chat.stderr.read()
        assert '"msg":"room paused: a member is not reading"' in logs, logs
        assert '"msg":"room resumed"' in logs, logs
        print("chat: ok")
    finally:
        if chat.poll() is None:
            chat.kill()
            chat.wait()


if __name__ == "__main__":
    main()
