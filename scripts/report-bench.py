#!/usr/bin/env python3
"""Times GET /v1/reports/chronic-absence over 1,000 students x 180 closed sessions.

Writes the data set straight into Redis in the layout the class scripts use (the same one
ReportTests builds), in the school year 2019-20 so it meets no real class, asks the running api
several times, prints each time, and deletes the data again.

    python3 scripts/report-bench.py --redis-port 6379 --api http://127.0.0.1:8081 --token "$ADMIN" [--runs 5]
"""
import argparse
import json
import subprocess
import time
import urllib.request

DAY = 86_400_000
START = 1_567_382_400_000  # 2019-09-02T00:00:00Z


def resp(*args):
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis-port", type=int, default=6379)
    ap.add_argument("--api", default="http://127.0.0.1:8081")
    ap.add_argument("--token", required=True)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    students = [f"bench-s{i}" for i in range(1000)]
    classes = [f"bench-c{n}" for n in range(180)]
    cmds = []
    for n, cid in enumerate(classes):
        start = START + n * DAY
        cmds.append(resp("HSET", f"att:{{{cid}}}:meta", "class_id", cid, "name", "Bench", "teacher_id", "bench-t",
                         "start_ms", start, "closes_at_ms", start + 3_600_000, "closed_at_ms", start + 3_600_000,
                         "late_after_s", 600, "state", "closed"))
        fields = []
        for i, sid in enumerate(students):
            status = "absent" if n % (i % 20 + 1) == 0 else "present"
            fields += [sid, json.dumps({"status": status, "at": str(start), "method": "close", "by": "system"})]
        cmds.append(resp("HSET", f"att:{{{cid}}}:students", *fields))
        cmds.append(resp("SADD", f"att:{{{cid}}}:known", *students))
        cmds.append(resp("ZADD", "att:retained", start + 3_600_000, cid))
    subprocess.run(["redis-cli", "-p", str(a.redis_port), "--pipe"], input=b"".join(cmds), check=True,
                   stdout=subprocess.DEVNULL)
    try:
        url = f"{a.api}/v1/reports/chronic-absence?from=2019-09-02&to=2020-02-28"
        for _ in range(a.runs):
            req = urllib.request.Request(url, headers={"Authorization": f"Bearer {a.token}"})
            t = time.perf_counter()
            with urllib.request.urlopen(req) as r:
                body = r.read()
            ms = (time.perf_counter() - t) * 1000
            print(f"{ms:.0f} ms, {len(json.loads(body)['students'])} students, {len(body)} bytes")
    finally:
        keys = [f"att:{{{c}}}:{k}" for c in classes for k in ("meta", "students", "known")]
        cleanup = [resp("DEL", *keys[i:i + 300]) for i in range(0, len(keys), 300)] + [resp("ZREM", "att:retained", *classes)]
        subprocess.run(["redis-cli", "-p", str(a.redis_port), "--pipe"], input=b"".join(cleanup), check=True,
                       stdout=subprocess.DEVNULL)


main()
