#!/usr/bin/env python3
"""Measures Redis memory per class and per check-in through the real api.

Starts its own redis-server (no persistence, so the numbers are the dataset alone) and
`attendance api --dev` on free loopback ports, then for N classes of S students: creates them,
joins every student by code, checks every student in by QR, closes them, purges them, and prints
`INFO memory` used_memory after each phase plus `MEMORY USAGE` of one class's keys.
Usage: scripts/redis-memory.py [--classes 200] [--students 30] [--bin .build/release/attendance]
"""
import argparse, json, os, socket, subprocess, sys, time, urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--classes", type=int, default=200)
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--bin", default=".build/debug/attendance")
    a = ap.parse_args()
    rport, aport = free_port(), free_port()
    procs = []
    try:
        procs.append(subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no"], stdout=subprocess.DEVNULL))
        cli = ["redis-cli", "-p", str(rport)]
        wait(lambda: subprocess.run(cli + ["ping"], capture_output=True).stdout.strip() == b"PONG")
        # Success limits are irrelevant here; the env variables are ignored where a limit no longer exists.
        env = dict(os.environ, ATTENDANCE_API_JOIN_LIMIT_PER_ADDRESS="100000000", ATTENDANCE_API_JOIN_LIMIT_PER_CODE="100000000")
        procs.append(subprocess.Popen([a.bin, "api", "--dev", "--listen", f"127.0.0.1:{aport}", "--redis",
                                       f"redis://127.0.0.1:{rport}", "--log-level", "error"], env=env))
        base = f"http://127.0.0.1:{aport}"
        wait(lambda: get_status(base + "/healthz") == 200)
        teacher = subprocess.run([a.bin, "token", "--dev", "--role", "teacher", "--sub", "t1", "--ttl-s", "86400"],
                                 capture_output=True, text=True, check=True).stdout.strip()

        def used():
            subprocess.run(cli + ["memory", "purge"], capture_output=True)
            info = subprocess.run(cli + ["info", "memory"], capture_output=True, text=True).stdout
            return int(next(l.split(":")[1] for l in info.splitlines() if l.startswith("used_memory:")))

        def make_classes(n):
            made = []
            for i in range(n):
                roster = [f"s{j:02d}-{i:05d}" for j in range(a.students)]
                c = call(base + "/v1/classes", {"name": f"Class {i}", "roster": roster, "duration_s": 7200}, teacher)
                made.append((c, roster))
            return made

        def join_all(made):
            tokens = {}
            for c, roster in made:
                for sid in roster:
                    r = call(base + "/v1/join", {"code": c["code"], "student_id": sid, "name": f"Student {sid}"})
                    tokens[(c["class_id"], sid)] = r["access_token"]
            return tokens

        def checkin_all(made, tokens):
            for c, roster in made:
                qr = call(base + f"/v1/classes/{c['class_id']}/qr", None, teacher)["qr"]
                for sid in roster:
                    call(base + f"/v1/classes/{c['class_id']}/checkins", {"qr": qr}, tokens[(c["class_id"], sid)])

        def close_all(made):
            for c, _ in made:
                call(base + f"/v1/classes/{c['class_id']}/close", {}, teacher)

        # Warm-up: loads every script into Redis' script cache and sizes its hash tables, so the
        # measured deltas are the data alone.
        warm = make_classes(2)
        close_all(warm)
        phases = [("baseline", used())]
        made = make_classes(a.classes)
        phases.append(("created", used()))
        tokens = join_all(made)
        phases.append(("all joined", used()))
        checkin_all(made, tokens)
        phases.append(("all checked in", used()))
        close_all(made)
        phases.append(("closed", used()))
        keys = sample_keys(cli, made[0][0])
        subprocess.run([a.bin, "purge", "--older-than", "0s", "--redis", f"redis://127.0.0.1:{rport}", "--log-level", "error"],
                       check=True, capture_output=True)
        phases.append(("purged (tombstones)", used()))
        cid = made[0][0]["class_id"]
        keys.append((f"att:{{{cid}}}:purged (tombstone)",
                     subprocess.run(cli + ["memory", "usage", f"att:{{{cid}}}:purged", "samples", "0"],
                                    capture_output=True, text=True).stdout.strip()))

        n, s = a.classes, a.students
        print(f"{n} classes of {s} students; used_memory in bytes")
        print("| phase | used_memory | Δ per class | Δ per student |")
        print("|---|---|---|---|")
        prev = phases[0][1]
        for name, value in phases:
            d = value - prev
            print(f"| {name} | {value} | {d / n:.0f} | {d / (n * s):.0f} |")
            prev = value
        print(f"\nclosed class total: {(phases[4][1] - phases[0][1]) / n:.0f} B per class;"
              f" tombstone after purge: {(phases[5][1] - phases[0][1]) / n:.0f} B per class")
        print("\nMEMORY USAGE (SAMPLES 0) of one closed class's keys, and of its tombstone after the purge:")
        for key, size in keys:
            print(f"  {key}: {size}")
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()


def sample_keys(cli, c):
    cid = c["class_id"]
    out = []
    for suffix in ["meta", "roster", "students", "known", "events", "audit"]:
        key = f"att:{{{cid}}}:{suffix}"
        r = subprocess.run(cli + ["memory", "usage", key, "samples", "0"], capture_output=True, text=True).stdout.strip()
        out.append((key, r))
    return out


def wait(cond, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return
        except Exception:
            pass
        time.sleep(0.05)
    sys.exit("timed out waiting for a process to start")


def get_status(url):
    try:
        return urllib.request.urlopen(url, timeout=2).status
    except urllib.error.HTTPError as e:
        return e.code


def call(url, body, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


if __name__ == "__main__":
    main()
