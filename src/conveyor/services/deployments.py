"""Deployments: named, detached model servers recorded in the metadata database.

`deploy` starts `conveyor serve MODEL --follow N --prediction-log …` as its own process group, with its
output in `HOME/deployments/NAME/server.log` and its predictions under `HOME/deployments/NAME/predictions`,
waits until it answers readiness, and records it (status, URL, model version, pid, start time). `list`
and `show` check that recorded processes are still alive; `stop` ends the process group by its pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from conveyor.domain.models import Deployment
from conveyor.domain.ports import DeploymentStore
from conveyor.errors import Conflict, InvalidInput, NotFound
from conveyor.services.serving import ServingService

STARTING, RUNNING, STOPPED, FAILED = "starting", "running", "stopped", "failed"


class DeploymentService:
    """Start, list, show, stop and read the logs of deployments."""

    def __init__(
        self,
        store: Callable[[], DeploymentStore],
        serving: ServingService,
        home: Path,
        *,
        command: list[str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._serving = serving
        self._home = home
        # How to run the CLI: the `conveyor` beside this interpreter, else `python -m conveyor…`.
        self._command = command or _conveyor_command()
        self._clock = clock

    def deploy(
        self,
        model: str,
        name: str,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        workers: int = 1,
        follow_seconds: float = 5.0,
        canary: str | None = None,
        canary_percent: float = 10.0,
        shadow: str | None = None,
        extra_args: list[str] | None = None,
        wait_seconds: float = 180.0,
    ) -> Deployment:
        """Start a server for `model` named `name` and record it; fails if `name` is already running."""
        if not name or "/" in name or name.startswith("."):
            raise InvalidInput(f"{name!r} is not a deployment name.", hint="Use letters, digits, '-' and '_'.")
        current = self.show(name) if self._store().get(name) else None
        if current is not None and current.status in (STARTING, RUNNING):
            raise Conflict(
                f"Deployment {name!r} is already {current.status} at {current.url}.",
                hint=f"Stop it first: conveyor deployments stop {name}",
            )
        self._serving.check(model)
        version = None if Path(model).expanduser().is_dir() else self._serving.current_version(model)
        folder = self._home / "deployments" / name
        folder.mkdir(parents=True, exist_ok=True)
        log_path = folder / "server.log"
        args = [*self._command, "serve", model, "--name", _served_name(model), "--host", host, "--port", str(port)]
        args += ["--workers", str(workers), "--prediction-log", str(folder / "predictions")]
        if follow_seconds > 0 and version is not None:
            args += ["--follow", str(follow_seconds)]
        if canary:
            args += ["--canary", canary, "--canary-percent", str(canary_percent)]
        if shadow:
            args += ["--shadow", shadow]
        args += extra_args or []
        options = {"follow_seconds": follow_seconds, "canary": canary, "shadow": shadow, "args": args}
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: outlives this command, stopped as a group
                env={**os.environ, "CONVEYOR_HOME": str(self._home)},
            )
        deployment = Deployment(
            name=name,
            model=model,
            model_version=version,
            status=STARTING,
            host=host,
            port=port,
            workers=workers,
            pid=process.pid,
            log_path=str(log_path),
            options=options,
            started_at=self._clock(),
        )
        self._store().save(deployment)
        try:
            return self._await_ready(deployment, process, wait_seconds)
        finally:
            if process.returncode is None:
                # Detached on purpose: it outlives this command and is stopped by pid, so Popen must not
                # warn about a child left running. (This process, if it lives on, reaps it in `stop`.)
                process.returncode = 0

    def _await_ready(self, deployment: Deployment, process: subprocess.Popen, wait_seconds: float) -> Deployment:
        name, log_path = deployment.name, Path(deployment.log_path)
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                failed = deployment.model_copy(update={"status": FAILED, "stopped_at": self._clock(), "pid": None})
                self._store().save(failed)
                raise InvalidInput(
                    f"Deployment {name!r} exited while starting (code {process.returncode}).",
                    hint=f"Its log: {log_path}\n{_tail(log_path, 15)}",
                )
            if _ready(deployment.url):
                return self._store().save(deployment.model_copy(update={"status": RUNNING}))
            time.sleep(0.25)
        return deployment

    def list(self) -> list[Deployment]:
        return [self._refresh(d) for d in self._store().list()]

    def show(self, name: str) -> Deployment:
        found = self._store().get(name)
        if found is None:
            known = ", ".join(d.name for d in self._store().list()) or "none yet"
            raise NotFound(f"No deployment named {name!r}.", hint=f"Deployments: {known}.")
        return self._refresh(found)

    def live_version(self, deployment: Deployment) -> str | None:
        """The version the running server reports (it follows its alias), or None if it does not answer."""
        try:
            with urllib.request.urlopen(f"{deployment.url}/v2/models/{_served_name(deployment.model)}", timeout=2) as r:
                return str(json.loads(r.read())["versions"][0])
        except (OSError, ValueError, KeyError, IndexError):
            return None

    def stop(self, name: str, *, timeout: float = 20.0) -> Deployment:
        """End the deployment's process group (SIGTERM, then SIGKILL after `timeout`) and record it stopped."""
        deployment = self.show(name)
        if deployment.pid is not None and _alive(deployment.pid):
            _signal_group(deployment.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(deployment.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(deployment.pid):
                _signal_group(deployment.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(deployment.pid, os.WNOHANG)  # reap it when this process started it
        stopped = deployment.model_copy(update={"status": STOPPED, "stopped_at": self._clock(), "pid": None})
        return self._store().save(stopped)

    def logs(self, name: str, lines: int = 50) -> str:
        return _tail(Path(self.show(name).log_path), lines)

    def _refresh(self, deployment: Deployment) -> Deployment:
        if deployment.status in (STARTING, RUNNING) and (deployment.pid is None or not _alive(deployment.pid)):
            failed = deployment.model_copy(update={"status": FAILED, "stopped_at": self._clock(), "pid": None})
            return self._store().save(failed)
        if deployment.status == STARTING and _ready(deployment.url):
            return self._store().save(deployment.model_copy(update={"status": RUNNING}))
        if deployment.status == RUNNING:
            live = self.live_version(deployment)
            if live is not None and live != deployment.model_version:
                return self._store().save(deployment.model_copy(update={"model_version": live}))
        return deployment


def _served_name(model: str) -> str:
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve().name
    return model.split("@")[0].rsplit(":", 1)[0]


def _conveyor_command() -> list[str]:
    beside = Path(sys.executable).with_name("conveyor")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("conveyor")
    return [found] if found else [sys.executable, "-c", "from conveyor.entrypoints.cli.app import main; main()"]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not alive.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)  # the server leads its own group (start_new_session)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
