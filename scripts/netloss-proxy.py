#!/usr/bin/env python3
"""A loopback TCP proxy whose traffic can be cut off, for the browser test's network loss.

    scripts/netloss-proxy.py UPSTREAM_HOST:PORT

Prints one line, "netloss-proxy listening on http://127.0.0.1:P control http://127.0.0.1:C",
then forwards every connection made to P to UPSTREAM, byte for byte, until it is stopped.

The control port answers (with CORS headers, so that a test page on another origin may call it):
  POST /down   the network is lost: no byte moves in either direction on any connection, open or
               new (new connections are accepted by the kernel and then left hanging); nothing is
               closed or reset, so the peers see a silent connection, as when a cable is pulled
  POST /up     the network is back: held bytes move on, held connections reach UPSTREAM
  GET  /       the state, "up" or "down"

Python's standard library only; loopback only.
"""

import asyncio
import sys

CORS = (
    b"Access-Control-Allow-Origin: *\r\n"
    b"Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
    b"Access-Control-Allow-Headers: content-type\r\n"
)


async def main(upstream_host, upstream_port):
    up = asyncio.Event()
    up.set()

    async def pump(reader, writer):
        try:
            while True:
                await up.wait()
                data = await reader.read(65536)
                if not data:
                    break
                # Read while the network was up, but it went down meanwhile: hold the bytes.
                await up.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                writer.close()
            except (ConnectionError, OSError):
                pass

    async def forward(client_reader, client_writer):
        await up.wait()
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(upstream_host, upstream_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, upstream_writer), pump(upstream_reader, client_writer))

    async def control(reader, writer):
        try:
            request = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        method, path = (request.split(b"\r\n", 1)[0].split(b" ") + [b"", b""])[:2]
        status, body = b"200 OK", b""
        if method == b"OPTIONS":
            status = b"204 No Content"
        elif method == b"POST" and path == b"/down":
            up.clear()
            print("netloss-proxy: network down", file=sys.stderr, flush=True)
        elif method == b"POST" and path == b"/up":
            up.set()
            print("netloss-proxy: network up", file=sys.stderr, flush=True)
        elif method == b"GET" and path == b"/":
            pass
        else:
            status = b"404 Not Found"
        if status != b"204 No Content":
            body = b"up" if up.is_set() else b"down"
        writer.write(
            b"HTTP/1.1 " + status + b"\r\n" + CORS + b"Content-Type: text/plain\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )
        try:
            await writer.drain()
        finally:
            writer.close()

    proxy = await asyncio.start_server(forward, "127.0.0.1", 0)
    ctl = await asyncio.start_server(control, "127.0.0.1", 0)
    proxy_port = proxy.sockets[0].getsockname()[1]
    ctl_port = ctl.sockets[0].getsockname()[1]
    print(
        f"netloss-proxy listening on http://127.0.0.1:{proxy_port} control http://127.0.0.1:{ctl_port}",
        flush=True,
    )
    await asyncio.gather(proxy.serve_forever(), ctl.serve_forever())


if __name__ == "__main__":
    if len(sys.argv) != 2 or ":" not in sys.argv[1]:
        sys.exit("usage: netloss-proxy.py UPSTREAM_HOST:PORT")
    host, port = sys.argv[1].rsplit(":", 1)
    try:
        asyncio.run(main(host, int(port)))
    except KeyboardInterrupt:
        pass
