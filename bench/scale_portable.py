"""A portable Beam "cluster" on this machine: a job service and an EXTERNAL worker pool.

`local_cluster(service)` starts both as subprocesses on free ports and stops them on exit:
`service="kura"` is pipelines/job_service.py (jobs run on `--sdk_worker_parallelism` SDK
workers), `service="beam"` is Beam's own `local_job_service_main` (every job on one SDK worker).
The worker pool starts its workers with the first `python` on PATH, so the interpreter running
this comes first on the services' PATH (a pool that finds another python hangs the job), and
the repository is on their PYTHONPATH, so the workers import kura's transforms.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench._common import REPO

SERVICES = {
    "kura": ["-m", "pipelines.job_service"],
    "beam": ["-m", "apache_beam.runners.portability.local_job_service_main"],
}


@dataclass(frozen=True)
class LocalCluster:
    job_port: int
    pool_port: int
    pids: tuple[int, ...]  # the job service's and the worker pool's
    pool_log: Path  # the pool's stderr: one "Starting worker" line per SDK worker started

    def beam_args(self) -> tuple[str, ...]:
        """What `kura onboard --runner PortableRunner -- ...` is given to run here."""
        return (f"--job_endpoint=localhost:{self.job_port}", "--environment_type=EXTERNAL",
                f"--environment_config=localhost:{self.pool_port}")

    def workers_started(self) -> int:
        return self.pool_log.read_text(errors="replace").count("Starting worker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service on port {port} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("localhost", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def service_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


@contextmanager
def local_cluster(log_dir: Path, service: str = "kura",
                  env: dict[str, str] | None = None) -> Iterator[LocalCluster]:
    """A job service and one worker pool on free localhost ports, stopped when the block ends."""
    log_dir.mkdir(parents=True, exist_ok=True)
    job_port, pool_port = free_port(), free_port()
    env = service_env(env)
    commands = [
        [sys.executable, *SERVICES[service], "--port", str(job_port)],
        [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main",
         "--service_port", str(pool_port)],
    ]
    logs = [log_dir / "job-service.log", log_dir / "worker-pool.log"]
    processes = []
    try:
        for command, log in zip(commands, logs, strict=True):
            with log.open("wb") as sink:
                processes.append(subprocess.Popen(command, env=env, cwd=REPO,
                                                  stdout=sink, stderr=subprocess.STDOUT))
        wait_for_port(job_port, processes[0])
        wait_for_port(pool_port, processes[1])
        yield LocalCluster(job_port, pool_port, tuple(p.pid for p in processes), logs[1])
    finally:
        for process in processes:
            # SIGINT, not SIGTERM: the pool then stops its workers (atexit) before it exits.
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
