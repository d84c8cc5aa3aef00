"""Configuration of the venue's FIX acceptor (frozen, validated).

The defaults are the acceptor configuration QuickFIX's server acceptance
suite requires (upstream ``cfg/at.cfg``): one port for every session,
SenderCompID ``ISLD``, FIX.4.2 with ``TW42`` and FIX.4.4 with ``TW44``,
``ResetOnLogon=Y``, a session that runs all day, latency check on with a
120 s maximum, and validation against the FIX 4.2/4.4 data dictionaries.
The venue's config (``sim/venue/config.py``) embeds :class:`FixConfig` as
its ``fix`` section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: FIX versions the acceptor can serve (data dictionaries ship with quickfix-py)
BeginString = Literal["FIX.4.0", "FIX.4.1", "FIX.4.2", "FIX.4.3", "FIX.4.4"]

#: application profiles (``sim/venue/fix/profiles``)
ProfileName = Literal["venue", "echo"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FixSessionConfig(_Frozen):
    """One acceptor session, named by its BeginString and the counterparty's CompID."""

    begin_string: BeginString = "FIX.4.4"
    target_comp_id: str = Field(min_length=1)
    #: QuickFIX ``ValidateFieldsHaveValues``: reject fields sent without a value
    validate_fields_have_values: bool = True


def _default_sessions() -> tuple[FixSessionConfig, ...]:
    return (FixSessionConfig(begin_string="FIX.4.2", target_comp_id="TW42"),
            FixSessionConfig(begin_string="FIX.4.4", target_comp_id="TW44"))


def acceptance_sessions() -> tuple[FixSessionConfig, ...]:
    """Every session of QuickFIX's server acceptance suite (all its folders).

    FIX.4.0 to FIX.4.4 with ``TW40`` … ``TW44``, and for ``validate/`` FIX.4.4
    ``TW`` and ``NO_CHECK_FIELDS_HAVE_VALUES`` (empty values allowed).
    """
    return tuple(FixSessionConfig(begin_string=f"FIX.4.{minor}", target_comp_id=f"TW4{minor}")
                 for minor in range(5)) + (
        FixSessionConfig(begin_string="FIX.4.4", target_comp_id="TW"),
        FixSessionConfig(begin_string="FIX.4.4", target_comp_id="NO_CHECK_FIELDS_HAVE_VALUES",
                         validate_fields_have_values=False))


class FixConfig(_Frozen):
    """The FIX acceptor: port, CompIDs, sessions, profile, validation and storage.

    ``port=0`` picks a free port at start (read it back from
    ``FixAcceptor.port``). QuickFIX's acceptor listens on every interface;
    it has no bind-address setting.
    """

    enabled: bool = True
    port: int = Field(default=9878, ge=0, le=65535)
    sender_comp_id: str = Field(default="ISLD", min_length=1)
    sessions: tuple[FixSessionConfig, ...] = Field(default_factory=_default_sessions)
    #: application behind the session layer: ``venue`` (matching engine) or ``echo``
    app: ProfileName = "venue"
    #: a Logon resets both sequence numbers (QuickFIX ``ResetOnLogon``)
    reset_on_logon: bool = True
    #: reject messages whose SendingTime is more than ``max_latency`` s off
    check_latency: bool = True
    max_latency: int = Field(default=120, ge=1)
    #: folder holding FIX4x.xml; None = the dictionaries installed by quickfix-py
    data_dictionary_dir: Path | None = None
    #: message store: ``memory`` or ``file`` (in ``store_dir``)
    store: Literal["memory", "file"] = "memory"
    #: where file stores go; None = a temporary folder removed at stop
    store_dir: Path | None = None
    #: QuickFIX's message/event logs go here when set (none otherwise)
    log_dir: Path | None = None
    #: CompID of a counterparty that receives a copy of every execution
    #: (FIX drop copy); it must also be listed in ``sessions``
    drop_copy_target_comp_id: str | None = None

    @model_validator(mode="after")
    def _check_sessions(self) -> FixConfig:
        seen = set()
        for session in self.sessions:
            key = (session.begin_string, session.target_comp_id)
            if key in seen:
                raise ValueError(f"duplicate FIX session {key[0]} {key[1]}")
            seen.add(key)
        if self.drop_copy_target_comp_id is not None and not any(
                s.target_comp_id == self.drop_copy_target_comp_id for s in self.sessions):
            raise ValueError(f"drop_copy_target_comp_id {self.drop_copy_target_comp_id!r} "
                             "is not one of the configured sessions")
        return self
