#!/usr/bin/env python3
"""Reference broadcast server for `attendance-load fanout` (docs/BENCHMARKS.md).

The least a fan-out server must do, written with the widely used Python `websockets` library:
accept WebSocket clients, put each in the room its `subscribe` names, and forward every event
published on Redis (`att:{class_id}:live`, the channels the Lua scripts publish to) to that room
with `websockets.broadcast`. It checks no token, sends no snapshot and keeps no history, so it does
less work per message than the hub; the hub-to-reference ratio is therefore conservative.

    python3 reference_broadcast_server.py --listen 127.0.0.1:9090 --redis 127.0.0.1:6379
    attendance-load fanout --hub ws://127.0.0.1:9090 --api http://127.0.0.1:8081 ...
"""
import argparse
import asyncio
import http
import json

from websockets.asyncio.server import broadcast, serve

rooms = {}  # class_id -> set of connections


async def client(ws):
    joined = []
    try:
        async for text in ws:
            message = json.loads(text)
            if message.get("type") == "subscribe":
                class_id = message["class_id"]
                rooms.setdefault(class_id, set()).add(ws)
                joined.append(class_id)
                await ws.send(json.dumps({"type": "subscribed", "class_id": class_id, "id": message.get("id")},
                                          separators=(",", ":")))
    finally:
        for class_id in joined:
            rooms.get(class_id, set()).discard(ws)


def health(connection, request):
    # attendance-load checks GET /healthz before it starts, as it does with the hub.
    if request.path == "/healthz":
        return connection.respond(http.HTTPStatus.OK, '{"status":"ok"}\n')
    return None


async def relay(host, port):
    """PSUBSCRIBE over raw RESP: a pmessage is [b"pmessage", pattern, channel, payload]."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$12\r\natt:{*}:live\r\n")

    async def item():
        line = await reader.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"*":
            return [await item() for _ in range(int(rest))]
        if kind == b"$":
            return (await reader.readexactly(int(rest) + 2))[:-2]
        return rest

    while True:
        reply = await item()
        if reply[0] == b"pmessage":
            members = rooms.get(reply[2][len(b"att:{"):-len(b"}:live")].decode())
            if members:
                broadcast(members, reply[3].decode())


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", default="127.0.0.1:9090")
    parser.add_argument("--redis", default="127.0.0.1:6379")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    redis_host, redis_port = args.redis.rsplit(":", 1)
    async with serve(client, host, int(port), process_request=health, max_size=65536, backlog=4096):
        await relay(redis_host, int(redis_port))


if __name__ == "__main__":
    asyncio.run(main())
