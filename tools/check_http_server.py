#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks spindle_http_hello against slow and hostile clients (ctest: http_server_limits).

Usage: check_http_server.py PATH_TO_spindle_http_hello

Starts the server on a free port with short limits, then: a request head trickled a byte at a
time is cut off at --head-ms; a Content-Length past --max-body is answered 413 before the
body; a second Host field is answered 400; bare-LF line endings are answered 400 at once; a
client that never reads its responses is cut off at --write-ms; a plain GET still works; and
SIGTERM stops the server cleanly (exit 0, clean leak check). Bounds are generous: they tell a
limit that works from one that does not exist, on a loaded machine too.
"""
import os
import signal
import socket
import subprocess
import sys
import time


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def exchange(port, request):
    """Sends `request` on a new connection; returns (what came back, whether it was closed)."""
    s = connect(port)
    s.sendall(request)
    return read_all(s, 10)


def read_all(s, limit_s):
    s.settimeout(limit_s)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except socket.timeout:
        return data, False
    except ConnectionResetError:
        return data, True


def main():
    server = sys.argv[1]
    proc = subprocess.Popen(
        [server, "0", "--idle-ms=20000", "--head-ms=600", "--write-ms=600", "--max-body=1000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, SPINDLE_WORKERS="2"))
    line = proc.stdout.readline().decode()
    if not line.startswith("listening on "):
        fail("server did not start: %r" % line)
    port = int(line.split()[2])
    try:
        # A plain request works.
        data, closed = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        if b"200 OK" not in data or b"hello" not in data:
            fail("plain GET: %r" % data)

        # A head trickled in a byte at a time: cut off at --head-ms although each byte comes
        # well within the idle timeout.
        s = connect(port)
        start = time.monotonic()
        req = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
        cut = False
        for b in req:
            try:
                s.send(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
            s.settimeout(0.1)
            try:
                if s.recv(1) == b"":
                    cut = True
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                cut = True
                break
            if time.monotonic() - start > 15:
                break
        took = time.monotonic() - start
        if not cut or took > 10:
            fail("slow head not cut off (cut=%s after %.1f s)" % (cut, took))

        # A body past the limit: 413 without sending the body.
        data, closed = exchange(
            port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\nab")
        if b"413" not in data or not closed:
            fail("oversized body: %r closed=%s" % (data, closed))

        # Two Host fields: 400.
        data, closed = exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        if b"400" not in data or b"duplicate Host" not in data:
            fail("duplicate Host: %r" % data)

        # Bare LF line endings: an answer at once, not a hang until a timeout.
        start = time.monotonic()
        data, closed = exchange(port, b"GET / HTTP/1.1\nHost: x\n\n")
        if b"400" not in data or time.monotonic() - start > 5:
            fail("bare LF: %r after %.1f s" % (data, time.monotonic() - start))

        # A client that sends requests and never reads: its responses fill the socket buffers,
        # and the server's write deadline ends the connection.
        s = connect(port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        batch = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 2000
        start = time.monotonic()
        cut = False
        s.settimeout(1)
        while time.monotonic() - start < 20:
            try:
                s.send(batch)
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
        if not cut:
            fail("a client that never reads was not cut off within 20 s")

        # A stop: exit 0, no false deadlock, clean leak check.
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            fail("server did not stop on SIGTERM")
        if proc.returncode != 0 or b"leak check: clean" not in err:
            fail("stop: exit %d, stderr %r" % (proc.returncode, err[-2000:]))
    finally:
        if proc.poll() is None:
            proc.kill()
    print("http server limits: ok")


if __name__ == "__main__":
    main()
