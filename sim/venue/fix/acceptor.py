"""The venue's FIX acceptor: QuickFIX's session layer under one of our profiles.

``FixAcceptor(config, app_profile, engine)`` listens on one TCP port for
every configured session (FIX 4.2 and 4.4 by default) and runs the chosen
application profile behind QuickFIX's session layer: ``venue`` (orders into
the matching engine) or ``echo`` (QuickFIX's acceptance-test application).
Both go through exactly the same session layer and settings.

Threads: one thread of ours drives QuickFIX in its polling mode
(``Acceptor.poll``: one non-blocking pass over the sockets and session
timers, then a short wait) and is the only thread that ever starts or stops
it. The wait between passes is short while messages flow and grows to
``POLL_IDLE`` after a pause. QuickFIX's own threaded mode is not used:
stopping it from another thread races its reactor thread, which closes and
frees the socket server at the same moment (a crash in
``SocketServer::close`` seen with the pinned wheel). Profiles that touch
the matching engine post their work to the asyncio loop
(``profiles/venue.py``); ``start``/``stop`` never block the loop.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import shutil
import socket
import tempfile
import threading
import time
import weakref
from pathlib import Path

import quickfix as fix

from .application import SessionApplication
from .config import FixConfig
from .profiles import ApplicationProfile, make_profile
from .settings import build_settings, session_id

log = logging.getLogger(__name__)

#: attempts at binding a free port when ``port=0`` (another process may take it first)
BIND_ATTEMPTS = 5
#: wait between two polling passes: POLL_BUSY until BUSY_WINDOW s after the last
#: message, then doubling up to POLL_IDLE (the latency bound after a pause)
POLL_BUSY, POLL_IDLE, BUSY_WINDOW = 0.0001, 0.002, 0.05
#: how long ``stop`` lets logged-on counterparties answer our Logout
LOGOUT_WAIT = 2.0


#: acceptors whose thread runs; stopped at interpreter exit if nobody stopped them
_RUNNING: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _stop_at_exit() -> None:
    """Stop QuickFIX cleanly: a daemon thread killed inside it aborts the process."""
    running = list(_RUNNING)
    for acceptor in running:
        acceptor._stopping.set()
    for acceptor in running:
        thread = acceptor._thread
        if thread is not None:
            thread.join(LOGOUT_WAIT + 1)


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


class FixAcceptor:
    """The FIX order port of the venue (see module docstring)."""

    def __init__(self, config: FixConfig | None = None,
                 app_profile: str | ApplicationProfile | None = None, engine=None) -> None:
        self.config = config or FixConfig()
        self._profile_spec = app_profile if app_profile is not None else self.config.app
        self._engine = engine
        self.profile: ApplicationProfile | None = None
        self.application: SessionApplication | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._store_dir: Path | None = None
        self._temp_dir = False
        self._port: int | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def port(self) -> int:
        """The TCP port the acceptor listens on (after ``start``)."""
        if self._port is None:
            raise RuntimeError("the FIX acceptor is not started")
        return self._port

    async def start(self) -> None:
        """Start listening; returns once the port accepts connections."""
        if self.running:
            raise RuntimeError("the FIX acceptor is already started")
        await self._start()

    async def stop(self) -> None:
        """Log every session out, stop QuickFIX and release storage."""
        if not self.running:
            return
        await self._stop()

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self.profile = make_profile(self._profile_spec, engine=self._engine, loop=loop,
                                    config=self.config)
        self.profile.bind(self._send)
        self.application = SessionApplication(self.profile)
        if self.config.store_dir is None:
            self._store_dir, self._temp_dir = Path(tempfile.mkdtemp(prefix="t2t-fix-")), True
        else:
            self._store_dir, self._temp_dir = Path(self.config.store_dir), False
            self._store_dir.mkdir(parents=True, exist_ok=True)
        ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, args=(ready,),
                                        name="t2t-fix-acceptor", daemon=True)
        self._thread.start()
        _RUNNING.add(self)
        try:
            self._port = await asyncio.wrap_future(ready)
        except BaseException:
            await asyncio.to_thread(self._thread.join)
            _RUNNING.discard(self)
            self._thread = None
            self._release()
            raise
        log.info("FIX acceptor (%s) listening on port %d for %s", self.profile.name,
                 self._port, ", ".join(f"{s.begin_string} {s.target_comp_id}"
                                       for s in self.config.sessions))

    async def _stop(self) -> None:
        self._stopping.set()
        await asyncio.to_thread(self._thread.join)
        _RUNNING.discard(self)
        self._thread = None
        self._release()
        log.info("FIX acceptor stopped")

    def _release(self) -> None:
        if self.profile is not None:
            self.profile.close()
        self._port = None
        if self._temp_dir and self._store_dir is not None:
            shutil.rmtree(self._store_dir, ignore_errors=True)
        self._store_dir = None

    # ------------------------------------------------------ QuickFIX thread

    def _run(self, ready: concurrent.futures.Future) -> None:
        """Bind, poll until asked to stop, log out, stop (all on this one thread)."""
        try:
            acceptor, keep, port = self._bind()
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(port)
        try:
            wait, seen, last = POLL_BUSY, self.application.activity, time.monotonic()
            while not self._stopping.is_set():
                if not acceptor.poll():
                    break
                if self.application.activity != seen:
                    wait, seen, last = POLL_BUSY, self.application.activity, time.monotonic()
                elif time.monotonic() - last > BUSY_WINDOW:
                    wait = min(wait * 2, POLL_IDLE)
                self._stopping.wait(wait)
            self._logout_all(acceptor)
        except Exception:
            log.exception("FIX acceptor thread failed")
        finally:
            acceptor.stop(True)
            del acceptor, keep

    def _bind(self):
        taken = [f"{s.begin_string} {s.target_comp_id}" for s in self.config.sessions
                 if self._lookup(s) is not None]
        if taken:  # QuickFIX keeps one registry of sessions per process
            raise RuntimeError(f"FIX sessions {', '.join(taken)} are already served by another "
                               "acceptor in this process")
        attempts = 1 if self.config.port else BIND_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self.config.port or free_port()
            settings = build_settings(self.config, port, self._store_dir)
            if self.config.store == "file":
                store = fix.FileStoreFactory(settings)
            else:
                store = fix.MemoryStoreFactory()
            logs = fix.FileLogFactory(settings) if self.config.log_dir is not None else None
            args = (self.application, store, settings) + ((logs,) if logs else ())
            acceptor = fix.SocketAcceptor(*args)
            try:
                acceptor.poll()  # the first pass binds the port
            except fix.RuntimeError as exc:
                del acceptor
                if attempt == attempts:
                    raise OSError(f"FIX acceptor cannot listen on port {port}: {exc}") from exc
                continue
            # QuickFIX holds raw references to these: keep them alive with the acceptor
            return acceptor, (settings, store, logs), port

    def _logout_all(self, acceptor) -> None:
        """Send Logout on every live session and poll until answered (at most LOGOUT_WAIT)."""
        live = [s for s in map(self._lookup, self.config.sessions)
                if s is not None and s.isLoggedOn()]
        for session in live:
            session.logout()
        deadline = time.monotonic() + LOGOUT_WAIT
        while any(s.isLoggedOn() for s in live) and time.monotonic() < deadline:
            acceptor.poll()
            time.sleep(POLL_BUSY)

    def _lookup(self, session):
        return fix.Session.lookupSession(session_id(self.config, session))

    # ------------------------------------------------------------- sessions

    def _send(self, message: fix.Message, session: fix.SessionID) -> bool:
        return fix.Session.sendToTarget(message, session)

    def logged_on(self) -> list[str]:
        """``BeginString TargetCompID`` of every session logged on now."""
        names = []
        for session in self.config.sessions:
            live = self._lookup(session)
            if live is not None and live.isLoggedOn():
                names.append(f"{session.begin_string} {session.target_comp_id}")
        return names
