#!/usr/bin/env python3
"""A function in Python's standard library under scalebench's runtime
contract: wait --init (its start-up work), then serve HTTP on
127.0.0.1:$PORT, answer /healthz, and exit cleanly on SIGTERM. It knows
nothing of scalebench: the queue-proxy adds the cold-start headers.

    PORT=8080 python3 server.py --init 100ms
"""
import argparse
import http.server
import os
import re
import signal
import socketserver
import sys
import threading
import time


def duration(s):
    """A Go-style duration: 100ms, 1.5s, 0."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)?", s)
    if not m:
        raise argparse.ArgumentTypeError("want a duration such as 100ms or 1.5s, got %r" % s)
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value


class Handler(http.server.BaseHTTPRequestHandler):
    # Keep-alive, so the queue-proxy reuses its connections.
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"ok\n" if self.path == "/healthz" else b"hello\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        # HTTPServer.server_bind looks up the host's FQDN by reverse DNS,
        # which takes seconds where DNS is slow or unreachable, all of it
        # before the socket listens: on the cold-start path.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", type=duration, default=0.0, help="start-up work before listening")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if stop.wait(args.init):
        return
    server = Server(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
