"""QuickFIX session settings built from :class:`FixConfig`.

The same keys as upstream's acceptance configuration (``cfg/at.cfg``):
acceptor, one port, all-day session (StartTime = EndTime = 00:00:00),
``ResetOnLogon``, data dictionary per session, latency check, millisecond
SendingTime (the acceptance runner compares BodyLength exactly).
"""

from __future__ import annotations

from pathlib import Path

import quickfix as fix

from .config import FixConfig, FixSessionConfig
from .dictionary import dictionary_path


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def session_id(config: FixConfig, session: FixSessionConfig) -> fix.SessionID:
    """The QuickFIX SessionID of ``session`` (our CompID is the sender)."""
    return fix.SessionID(session.begin_string, config.sender_comp_id, session.target_comp_id)


def build_settings(config: FixConfig, port: int, store_dir: Path) -> fix.SessionSettings:
    """Session settings for an acceptor on ``port`` storing files under ``store_dir``."""
    settings = fix.SessionSettings()
    defaults = fix.Dictionary()
    for key, value in {
        "ConnectionType": "acceptor",
        "SocketAcceptPort": str(port),
        "SocketReuseAddress": "Y",
        "StartTime": "00:00:00",
        "EndTime": "00:00:00",
        "SenderCompID": config.sender_comp_id,
        "ResetOnLogon": _yn(config.reset_on_logon),
        "CheckLatency": _yn(config.check_latency),
        "MaxLatency": str(config.max_latency),
        "UseDataDictionary": "Y",
        "ValidateFieldsOutOfOrder": "Y",
        "ValidateUserDefinedFields": "Y",
        "AllowUnknownMsgFields": "N",
        "TimestampPrecision": "3",
        "FileStorePath": str(store_dir / "store"),
        "FileLogPath": str(config.log_dir or store_dir / "log"),
    }.items():
        defaults.setString(key, value)
    settings.set(defaults)  # defaults first: QuickFIX merges them into each session
    for session in config.sessions:
        values = fix.Dictionary()
        values.setString("BeginString", session.begin_string)
        values.setString("TargetCompID", session.target_comp_id)
        values.setString("DataDictionary",
                         str(dictionary_path(session.begin_string, config.data_dictionary_dir)))
        values.setString("ValidateFieldsHaveValues", _yn(session.validate_fields_have_values))
        settings.set(session_id(config, session), values)
    return settings
