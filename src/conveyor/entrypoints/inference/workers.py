"""Several server processes on one port, each with its own listening socket (SO_REUSEPORT).

uvicorn's `workers=N` shares one listening socket between its workers, and whichever worker wakes
first accepts every connection waiting. Measured here with 16 wrk connections to two workers: in 3 of
10 tries one worker held all 16 while the other idled, and splits such as 12/4 were common. With one
socket per worker the kernel spreads new connections over the workers by a hash of their addresses
(6 to 10 of 16 each in 7 tries; an eighth, made before the second worker listened, went
all to the first). The benchmark figures are in docs/benchmarks.md ("Serving").

The parent binds the address without listening (so a taken port fails at once, and port 0 picks one
port for all) and starts the workers. They listen only once every one of them has loaded the model:
the first connections do not all land on the first worker ready, and no request is served while
another worker is still importing libraries on the same cores. A worker that dies later is replaced
(and listens as soon as it has loaded); one that fails before it is ready stops them all.
SIGINT/SIGTERM are passed on.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
from typing import Any

logger = logging.getLogger("conveyor.inference")

_spawn = multiprocessing.get_context("spawn")  # a fresh interpreter per worker, as uvicorn does
_STOP_SECONDS = 30.0


def run_workers(server: dict[str, Any], *, host: str, port: int, workers: int) -> int:
    """Serve with `workers` processes, each running uvicorn with `server` (uvicorn.Config keyword arguments).

    Returns the exit code: 0 after a signal, 1 when a worker failed before it could serve.
    """
    reserved = _socket(host, port)  # bound, never listening: it takes no connections
    port = reserved.getsockname()[1]
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    listen = _spawn.Event()
    processes: list[tuple[Any, Any]] = [_start(server, host, port, listen) for _ in range(workers)]
    code = 0
    try:
        while not stop.wait(0.2):
            if not listen.is_set() and all(ready.is_set() for _, ready in processes):
                listen.set()
            for index, (process, ready) in enumerate(processes):
                if process.is_alive():
                    continue
                if not ready.is_set():  # it would fail the same way again
                    stop.set()
                    code = 1
                    break
                logger.warning("Worker %s died (exit code %s); starting another.", process.pid, process.exitcode)
                processes[index] = _start(server, host, port, listen)
    finally:
        for process, _ in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes its requests and runs the app's shutdown
        for process, _ in processes:
            process.join(_STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        reserved.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def _start(server: dict[str, Any], host: str, port: int, listen: Any) -> tuple[Any, Any]:
    ready = _spawn.Event()
    process = _spawn.Process(target=_worker, args=(server, host, port, ready, listen), name="conveyor-worker")
    process.start()
    return process, ready


def _worker(server: dict[str, Any], host: str, port: int, ready: Any, listen: Any) -> None:
    import uvicorn

    config = uvicorn.Config(**server)
    config.configure_logging()
    config.load()  # the app factory: the model is loaded here, before this worker takes connections
    ready.set()
    listen.wait()
    sock = _socket(host, port)
    uvicorn.Server(config).run(sockets=[sock])


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
