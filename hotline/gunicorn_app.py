"""`hotline serve`: gunicorn run from Python with the settings in `gunicorn_conf`."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.config import KNOWN_SETTINGS

from hotline import gunicorn_conf


def settings(**overrides) -> dict:
    """The gunicorn settings of ``gunicorn_conf``, with ``overrides`` (None leaves a value).

    Every name there that gunicorn knows as a setting: the same as ``--config`` reads for
    the Procfile, so that ``hotline serve`` and production cannot drift apart.
    """
    known = {setting.name for setting in KNOWN_SETTINGS}
    options = {name: value for name, value in vars(gunicorn_conf).items() if name in known}
    options.update({k: v for k, v in overrides.items() if v is not None})
    if not gunicorn_conf.SHARED_STORE:
        options["workers"] = 1  # the in-process store cannot be shared
    return options


class Server(BaseApplication):
    def __init__(self, factory: Callable[[], Flask], options: dict):
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # older gunicorn releases lack some settings
                self.cfg.set(key, value)

    def load(self) -> Flask:
        # Each worker builds its own app: no connection crosses a fork.
        return self.factory()
