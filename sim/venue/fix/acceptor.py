"""The venue's FIX acceptor: QuickFIX's session layer under one of our profiles.

``FixAcceptor(config, app_profile, engine)`` listens on one TCP port for
every configured session (FIX 4.2 and 4.4 by default) and runs the chosen
application profile behind QuickFIX's session layer: ``venue`` (orders into
the matching engine) or ``echo`` (QuickFIX's acceptance-test application).
Both go through exactly the same session layer and settings.

QuickFIX runs its own thread. ``start``/``stop`` hand the blocking QuickFIX
calls to a worker thread so the asyncio loop never blocks; profiles that
touch the matching engine post their work to the loop (see
``profiles/venue.py``).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import tempfile
from pathlib import Path

import quickfix as fix

from .application import SessionApplication
from .config import FixConfig
from .profiles import ApplicationProfile, make_profile
from .settings import build_settings, session_id

log = logging.getLogger(__name__)

#: attempts at binding a free port when ``port=0`` (another process may take it first)
BIND_ATTEMPTS = 5


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
        self._acceptor = None
        self._keep = ()  # QuickFIX holds raw references to these: keep them alive
        self._store_dir: Path | None = None
        self._temp_dir = False
        self._port: int | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._acceptor is not None

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
        """Log every session out, stop QuickFIX's thread and release storage."""
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
        try:
            await asyncio.to_thread(self._bind)
        except BaseException:
            self._release()
            raise
        log.info("FIX acceptor (%s) listening on port %d for %s", self.profile.name,
                 self._port, ", ".join(f"{s.begin_string} {s.target_comp_id}"
                                       for s in self.config.sessions))

    def _bind(self) -> None:
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
                acceptor.start()
            except fix.RuntimeError as exc:
                if attempt == attempts:
                    raise OSError(f"FIX acceptor cannot listen on port {port}: {exc}") from exc
                continue
            self._acceptor, self._port = acceptor, port
            self._keep = (settings, store, logs)
            return

    async def _stop(self) -> None:
        acceptor = self._acceptor
        await asyncio.to_thread(acceptor.stop)
        self._release()
        log.info("FIX acceptor stopped")

    def _release(self) -> None:
        if self.profile is not None:
            self.profile.close()
        self._acceptor, self._keep, self._port = None, (), None
        if self._temp_dir and self._store_dir is not None:
            shutil.rmtree(self._store_dir, ignore_errors=True)
        self._store_dir = None

    # ------------------------------------------------------------- sessions

    def _send(self, message: fix.Message, session: fix.SessionID) -> bool:
        return fix.Session.sendToTarget(message, session)

    def logged_on(self) -> list[str]:
        """``BeginString TargetCompID`` of every session logged on now."""
        names = []
        for session in self.config.sessions:
            live = fix.Session.lookupSession(session_id(self.config, session))
            if live is not None and live.isLoggedOn():
                names.append(f"{session.begin_string} {session.target_comp_id}")
        return names
