#!/usr/bin/env python3
"""A quick conformance smoke test of Examples/EchoServer with Python `websockets` (pip install
websockets): large text and binary messages, fragmentation, ping/pong, close codes, the 16 MiB limit
(exactly 16 MiB echoed, one byte more refused with 1009) and permessage-deflate declined.
Not part of `make test` (it needs a package from PyPI; EchoServerTests covers the same ground).
Usage: scripts/echo-smoke.py [.build/debug/EchoServer]
"""
import asyncio, os, subprocess, sys, time
import websockets
from websockets.exceptions import ConnectionClosed

async def main(binary):
    p = subprocess.Popen([binary, "0"], stdout=subprocess.PIPE)
    line = p.stdout.readline().decode()
    url = line.split(" on ")[1].strip()
    results = []
    try:
        async with websockets.connect(url, max_size=32 << 20, compression=None) as ws:
            big = os.urandom(8 << 20)
            await ws.send(big); r = await ws.recv(); results.append(("8 MiB binary", r == big))
            t = "é" * (3 << 20)
            await ws.send(t); r = await ws.recv(); results.append(("6 MiB text", r == t))
            await ws.send(["frag", "mented ", "ünicode"]); r = await ws.recv(); results.append(("fragmented text", r == "fragmented ünicode"))
            await ws.send([b"\x00\x01", b"\x02"]); r = await ws.recv(); results.append(("fragmented binary", r == b"\x00\x01\x02"))
            pong = await ws.ping(b"abc"); await asyncio.wait_for(pong, 5); results.append(("ping/pong", True))
            await ws.close(4000, "bye"); results.append(("close 4000 echoed", ws.close_code == 4000))
        ws = await websockets.connect(url, max_size=64 << 20, compression="deflate")
        results.append(("permessage-deflate declined", ws.response.headers.get("Sec-WebSocket-Extensions") is None))
        try:
            await ws.send(b"x" * ((16 << 20) + 1)); await ws.recv(); results.append(("16 MiB + 1 refused", False))
        except ConnectionClosed as e:
            results.append(("16 MiB + 1 refused with 1009", e.rcvd is not None and e.rcvd.code == 1009))
        async with websockets.connect(url, max_size=64 << 20, compression=None) as ws:
            m = os.urandom(16 << 20)
            await ws.send(m); r = await ws.recv(); results.append(("exactly 16 MiB binary", r == m))
    finally:
        p.terminate(); p.wait()
    for name, ok in results: print(("ok  " if ok else "FAIL"), name)
    return all(ok for _, ok in results)

sys.exit(0 if asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/EchoServer")) else 1)
