"""The web app (``paperradar serve``): see :mod:`paperradar.outputs.web.app`."""

from .app import create_app, serve

__all__ = ["create_app", "serve"]
