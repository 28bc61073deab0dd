#!/usr/bin/env python3
"""HTTP/1.1 fault-injecting reverse proxy for ibstream's S3 tests.

Sits on loopback in front of an S3 endpoint (the test emulator) and, for a
share of requests, answers in one of the ways a real S3 sometimes does:

  500     500 InternalError with an S3 XML error body
  503     503 SlowDown with an S3 XML error body
  reset   the connection reset (RST) while the request body is being sent or
          half-way through the response
  stall   no bytes for --stall-seconds (before the response or half-way
          through it), then the connection dropped; set it longer than the
          client's low-speed timeout to exercise that timeout

Every other request is relayed unchanged (the Host header too, so SigV4
signatures still verify), with keep-alive, Content-Length and chunked bodies
and Expect: 100-continue. Prints "ready PORT" once listening; on SIGTERM or
SIGINT prints a summary of the faults injected to stderr and exits 0.

Usage: faultproxy.py --upstream http://127.0.0.1:PORT [--port 0]
                     [--fault-rate 0.2] [--seed N] [--faults 500,503,reset,stall]
                     [--stall-seconds 35] [--verbose]
"""
import argparse
import asyncio
import random
import signal
import socket
import struct
import sys
import urllib.parse

KINDS = ("500", "503", "reset", "stall")
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
MAX_HEAD = 64 * 1024
IDLE_TIMEOUT = 120.0  # a client or upstream silent this long is dropped
COPY_CHUNK = 256 * 1024

ERRORS = {
    "500": (500, "Internal Server Error", "InternalError",
            "We encountered an internal error. Please try again."),
    "503": (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
}


class Closed(Exception):
    """The peer closed or the exchange cannot go on; drop the connection."""


class Stats:
    def __init__(self):
        self.requests = 0
        self.faults = {kind: 0 for kind in KINDS}

    def summary(self):
        total = sum(self.faults.values())
        kinds = " ".join(f"{k}={v}" for k, v in self.faults.items())
        return f"faultproxy: {self.requests} requests, {total} faults injected: {kinds}"


class Message:
    """A request or response head: start line and headers, in order."""

    def __init__(self, start, headers):
        self.start = start
        self.headers = headers  # list of (name, value)

    def get(self, name):
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def encode(self):
        lines = [self.start] + [f"{k}: {v}" for k, v in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def wants_close(self):
        return "close" in (self.get("Connection") or "").lower()

    def is_chunked(self):
        return "chunked" in (self.get("Transfer-Encoding") or "").lower()

    def content_length(self):
        value = self.get("Content-Length")
        if value is None:
            return None
        try:
            length = int(value.strip())
        except ValueError:
            raise Closed(f"bad Content-Length {value!r}")
        if length < 0:
            raise Closed(f"bad Content-Length {value!r}")
        return length


async def read_head(reader):
    try:
        data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise Closed("connection closed inside a message head")
        return None
    except (asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError) as exc:
        raise Closed(f"cannot read a message head: {exc!r}")
    lines = data.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise Closed(f"bad header line {line!r}")
        headers.append((name.strip(), value.strip()))
    return Message(lines[0], headers)


async def read_exactly(reader, n):
    try:
        return await asyncio.wait_for(reader.readexactly(n), IDLE_TIMEOUT)
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError) as exc:
        raise Closed(f"body cut short: {exc!r}")


async def read_line(reader):
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n"), IDLE_TIMEOUT)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
            ConnectionError) as exc:
        raise Closed(f"chunked body cut short: {exc!r}")


async def copy_body(msg, reader, writer, until_close=False, limit=None):
    """Copies msg's body from reader to writer (None writer: discard).

    limit: stop after about this many bytes and return False (the caller then
    breaks the connection); returns True once the whole body is copied."""
    sent = 0

    async def emit(data):
        nonlocal sent
        if writer is not None:
            writer.write(data)
            await writer.drain()
        sent += len(data)

    if msg.is_chunked():
        while True:
            line = await read_line(reader)
            size = int(line.split(b";")[0].strip() or b"0", 16)
            await emit(line)
            if size == 0:
                while True:  # trailers, up to the empty line
                    trailer = await read_line(reader)
                    await emit(trailer)
                    if trailer == b"\r\n":
                        return True
            await emit(await read_exactly(reader, size + 2))
            if limit is not None and sent >= limit:
                return False
    length = msg.content_length()
    if length is None:
        if not until_close:
            return True
        while True:
            try:
                data = await asyncio.wait_for(reader.read(COPY_CHUNK), IDLE_TIMEOUT)
            except (asyncio.TimeoutError, ConnectionError):
                return True
            if not data:
                return True
            await emit(data)
            if limit is not None and sent >= limit:
                return False
    remaining = length
    while remaining > 0:
        step = min(remaining, COPY_CHUNK)
        if limit is not None:
            step = min(step, max(1, limit - sent))
        await emit(await read_exactly(reader, step))
        remaining -= step
        if limit is not None and sent >= limit and remaining > 0:
            return False
    return True


def response_has_body(method, status):
    return not (method == "HEAD" or 100 <= status < 200 or status in (204, 304))


def status_of(msg):
    try:
        return int(msg.start.split(" ", 2)[1])
    except (IndexError, ValueError):
        raise Closed(f"bad status line {msg.start!r}")


def reset(writer):
    """Drops the connection with a TCP RST, as a failing load balancer does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


def error_response(kind, request_id):
    status, reason, code, message = ERRORS[kind]
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>faultproxy</HostId></Error>")
    data = body.encode()
    head = (f"HTTP/1.1 {status} {reason}\r\n"
            "Content-Type: application/xml\r\n"
            f"Content-Length: {len(data)}\r\n"
            f"x-amz-request-id: {request_id}\r\n")
    return head, data


class Proxy:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.stats = Stats()
        url = urllib.parse.urlsplit(args.upstream)
        self.up_host = url.hostname
        self.up_port = url.port or 80
        self.next_id = 0

    def log(self, text):
        if self.args.verbose:
            print(f"faultproxy: {text}", file=sys.stderr, flush=True)

    def pick_fault(self):
        if self.rng.random() >= self.args.fault_rate:
            return None
        return self.rng.choice(self.args.faults)

    async def handle(self, creader, cwriter):
        upstream = None
        try:
            while True:
                request = await read_head(creader)
                if request is None:
                    return
                upstream = await self.exchange(request, creader, cwriter, upstream)
                if upstream is False:
                    return
        except Closed as exc:
            self.log(f"connection dropped: {exc}")
        except ConnectionError as exc:
            self.log(f"connection error: {exc!r}")
        finally:
            if upstream:
                upstream[1].close()
            cwriter.close()

    async def open_upstream(self):
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(self.up_host, self.up_port, limit=MAX_HEAD),
                IDLE_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as exc:
            raise Closed(f"cannot reach upstream {self.up_host}:{self.up_port}: {exc!r}")

    async def exchange(self, request, creader, cwriter, upstream):
        """One request/response; returns the upstream connection to keep, or
        False when the client connection must end."""
        self.stats.requests += 1
        self.next_id += 1
        request_id = f"FAULTPROXY{self.next_id:08d}"
        method = request.start.split(" ", 1)[0]
        has_body = request.is_chunked() or (request.content_length() or 0) > 0
        expect = "100-continue" in (request.get("Expect") or "").lower()
        fault = self.pick_fault()
        if fault:
            self.stats.faults[fault] += 1
            self.log(f"{fault} for {request.start}")

        if fault in ("500", "503"):
            head, body = error_response(fault, request_id)
            if has_body and expect:
                # The client waits for 100 or a final answer and will not
                # send the body: answer now and end the connection.
                cwriter.write((head + "Connection: close\r\n\r\n").encode() + body)
                await cwriter.drain()
                return False
            if has_body:
                await copy_body(request, creader, None)
            cwriter.write((head + "\r\n").encode() + body)
            await cwriter.drain()
            return upstream
        if fault == "reset" and has_body and self.rng.random() < 0.5:
            if expect:
                cwriter.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await cwriter.drain()
            length = request.content_length() or COPY_CHUNK * 4
            await copy_body(request, creader, None, limit=max(1, length // 2))
            reset(cwriter)
            return False
        if fault == "stall" and self.rng.random() < 0.5:
            await asyncio.sleep(self.args.stall_seconds)
            reset(cwriter)
            return False

        if upstream is not None and upstream[0].at_eof():
            upstream[1].close()  # the upstream ended the idle keep-alive connection
            upstream = None
        if upstream is None:
            upstream = await self.open_upstream()
        ureader, uwriter = upstream
        uwriter.write(request.encode())
        await uwriter.drain()
        response = None
        body_sent = not has_body
        if has_body:
            if expect:
                response = await read_head(ureader)
                if response is None:
                    raise Closed("upstream closed before answering")
                if status_of(response) == 100:
                    cwriter.write(response.encode())
                    await cwriter.drain()
                    response = None
            if response is None:
                await copy_body(request, creader, uwriter)
                body_sent = True
        while response is None or status_of(response) == 100:
            response = await read_head(ureader)
            if response is None:
                raise Closed("upstream closed before answering")
        status = status_of(response)
        cwriter.write(response.encode())
        await cwriter.drain()
        until_close = response.content_length() is None and not response.is_chunked()
        if fault in ("reset", "stall"):
            # Half the body (the head is already out), then the fault.
            if response_has_body(method, status):
                limit = max(1, (response.content_length() or 2) // 2)
                await copy_body(response, ureader, cwriter, until_close, limit)
            if fault == "stall":
                await asyncio.sleep(self.args.stall_seconds)
            reset(cwriter)
            uwriter.close()
            return False
        if response_has_body(method, status):
            await copy_body(response, ureader, cwriter, until_close)
        else:
            until_close = False
        # The client kept a body the upstream refused (Expect answered with a
        # final status): the connection is out of step and must end.
        if until_close or not body_sent or response.wants_close() or request.wants_close():
            uwriter.close()
            return False
        return upstream


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Fault-injecting HTTP proxy for S3 tests")
    parser.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", default=",".join(KINDS))
    parser.add_argument("--stall-seconds", type=float, default=35.0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    url = urllib.parse.urlsplit(args.upstream)
    if url.scheme != "http" or url.hostname not in LOOPBACK:
        parser.error(f"--upstream {args.upstream}: must be http:// on a loopback address")
    if args.listen not in LOOPBACK:
        parser.error(f"--listen {args.listen}: must be a loopback address")
    if not 0.0 <= args.fault_rate <= 1.0:
        parser.error("--fault-rate must be between 0 and 1")
    if not 0.0 <= args.stall_seconds <= 600.0:
        parser.error("--stall-seconds must be between 0 and 600 (stalls are bounded)")
    args.faults = [k.strip() for k in args.faults.split(",") if k.strip()]
    for kind in args.faults:
        if kind not in KINDS:
            parser.error(f"--faults: unknown kind {kind!r}; choose from {','.join(KINDS)}")
    if not args.faults:
        parser.error("--faults: name at least one kind")
    return args


async def main(argv):
    args = parse_args(argv)
    proxy = Proxy(args)
    server = await asyncio.start_server(proxy.handle, args.listen, args.port, limit=MAX_HEAD)
    port = server.sockets[0].getsockname()[1]
    print(f"ready {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    print(proxy.stats.summary(), file=sys.stderr, flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1:]))
    except KeyboardInterrupt:
        pass
