"""Real redis-server processes for tools/make-fixtures.

Each server runs in the foreground (--daemonize no), started directly by subprocess (no shell), on
127.0.0.1 and a free port (found by binding port 0; retried on "Address already in use"), in its
own temporary directory, with persistence off (--save "" --appendonly no) unless extra arguments
say otherwise. Stopped by its own pid: SIGTERM, then SIGKILL after a timeout.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import redis


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def binary_version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    # "Redis server v=7.0.15 sha=..."
    for part in out.split():
        if part.startswith("v="):
            return part[2:]
    raise RuntimeError(f"cannot parse version from {binary} --version: {out!r}")


class Server:
    def __init__(self, binary, name, extra_args=(), directory=None, startup_timeout=15.0):
        self.binary = binary
        self.name = name
        self.extra_args = list(extra_args)
        self.owned_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix=f"make-fixtures-{name}-")
        os.makedirs(self.dir, exist_ok=True)
        self.log_path = os.path.join(self.dir, "redis-server.log")
        self.proc = None
        self.port = None
        for _attempt in range(8):
            self.port = free_port()
            if self._launch(startup_timeout):
                return
        raise RuntimeError(f"{name}: could not find a free port for redis-server")

    @property
    def rdb_path(self):
        return os.path.join(self.dir, "dump.rdb")

    def args(self):
        return [
            self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--daemonize", "no",
            "--dir", self.dir, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
            "--logfile", "",
        ] + self.extra_args

    def _launch(self, timeout):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = self.log()
                self.proc = None
                if "Address already in use" in text:
                    return False
                raise RuntimeError(f"{self.name}: redis-server exited during startup:\n{text}")
            try:
                c = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, protocol=2)
                if c.ping():
                    c.close()
                    return True
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                pass
            except redis.ResponseError as e:
                if "LOADING" not in str(e):
                    raise
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name}: redis-server did not answer PING in time:\n{self.log()}")

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def client(self, db=0):
        """A redis-py client (RESP2) whose replies are left raw: bytes, ints, lists."""
        c = redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=60, protocol=2)
        c.response_callbacks.clear()
        return c

    def stop(self, timeout=10.0):
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def cleanup(self):
        self.stop()
        if self.owned_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
