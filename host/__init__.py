"""The host daemon, OMS, sessions, PMS, post-trade and the `t2t` CLI."""
