"""Real processes for the browser tests: a redis-server, an `attendance hub` and an `attendance api`
on free loopback ports, and a local teacher account. Every process is ended by `stop()`."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import traceback
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.path.join(ROOT, ".build", "debug", "attendance")


def free_ports(n):
    """n distinct free ports (held together while chosen, so they differ)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_for(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except RuntimeError:
            raise
        except Exception:
            pass
        time.sleep(0.05)
    raise TimeoutError("timed out waiting for " + what)


def run_steps(suite, steps, pages, artefacts, essential):
    """Runs `suite.step_<name>()` for each name and prints ok/FAIL; a failure saves a screenshot of
    every page to `artefacts`, and one of `essential` ends the run (later steps need it). Returns the
    number of failed steps."""
    failed = 0
    for name in steps:
        t0 = time.monotonic()
        try:
            getattr(suite, "step_" + name)()
            print(f"ok    {name} ({time.monotonic() - t0:.1f} s)", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL  {name}\n{traceback.format_exc()}", flush=True)
            for page_name, page in pages.items():
                try:
                    page.screenshot(path=os.path.join(artefacts, f"{name}-{page_name}.png"))
                except Exception:
                    pass
            if name in essential:
                break
    return failed


class Servers:
    def __init__(self, log_dir, api_args=(), api_env=None):
        """`api_args` and `api_env` (added to the environment) go to the api, e.g. its --oidc-* settings."""
        self.log_dir = log_dir
        self.api_args, self.api_env = list(api_args), api_env or {}
        self.redis_port, self.hub_port, self.api_port = free_ports(3)
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}"
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.data = tempfile.mkdtemp(prefix="attendance-browser-")
        self.procs = {}

    def _spawn(self, name, args, env=None):
        log = open(os.path.join(self.log_dir, name + ".log"), "ab")
        self.procs[name] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env=None if env is None else {**os.environ, **env})

    def _alive(self, name, check):
        """`check()`, but a process that exited (a port taken meanwhile, say) fails at once."""
        def condition():
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited with {self.procs[name].returncode}; see {name}.log")
            return check()
        return condition

    def start(self):
        self._spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", self.data,
                              "--save", "", "--appendonly", "no", "--loglevel", "warning"])
        wait_for(self._alive("redis", lambda: socket.create_connection(("127.0.0.1", self.redis_port), 0.2).close() or True),
                 what="redis")
        self.start_hub()
        # Every phone of the test shares 127.0.0.1: a few deliberate failures must not lock it out.
        self._spawn("api", [BINARY, "api", "--dev", "--listen", f"127.0.0.1:{self.api_port}", "--redis", self.redis_url,
                            "--hub-url", f"ws://127.0.0.1:{self.hub_port}/ws", "--failure-limit-per-address", "1000",
                            *self.api_args], env=self.api_env or None)
        wait_for(self._alive("api", lambda: self.get("/healthz")[0] == 200), what="api /healthz")
        add = subprocess.run([BINARY, "user", "add", "--id", "t1", "--role", "teacher", "--name", "Ms Rivera",
                              "--redis", self.redis_url], input=b"correct horse battery\n", capture_output=True)
        if add.returncode != 0:
            raise RuntimeError("attendance user add failed: " + add.stderr.decode())

    def start_hub(self):
        self._spawn("hub", [BINARY, "hub", "--dev", "--listen", f"127.0.0.1:{self.hub_port}", "--redis", self.redis_url])
        wait_for(self._alive("hub", lambda: urllib.request.urlopen(f"http://127.0.0.1:{self.hub_port}/healthz", timeout=1).status == 200),
                 what="hub /healthz")

    def kill_hub(self):
        """kill -9: the dashboard's socket drops without a close frame."""
        hub = self.procs.pop("hub")
        hub.send_signal(signal.SIGKILL)
        hub.wait()

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        subprocess.run(["rm", "-rf", self.data])

    # ---- plain HTTP, for what the test arranges outside the browser ----

    def request(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.api + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                raw = res.read()
                return res.status, (json.loads(raw) if raw and res.headers.get_content_type() == "application/json" else raw)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw

    def get(self, path, token=None):
        return self.request("GET", path, token=token)

    def mint_token(self, role, sub):
        """A token from `attendance token` (the development secrets), for what the test arranges itself."""
        out = subprocess.run([BINARY, "token", "--dev", "--role", role, "--sub", sub, "--redis", self.redis_url],
                             capture_output=True, check=True)
        return out.stdout.decode().strip()

    def teacher_token(self):
        status, body = self.request("POST", "/v1/auth/login", {"id": "t1", "password": "correct horse battery"})
        assert status == 200, body
        return body["access_token"]
