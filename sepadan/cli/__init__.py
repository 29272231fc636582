"""The command line: ``sepadan import|index|shortlist|recommend|explain|demo|serve|plan|...``.

``core`` holds the Typer app and the record and matching commands; ``planning``, ``models``,
``bench`` and ``api`` add their command groups to it; ``common`` has the options and helpers they
share. The one edge that reads settings from the environment, configures logging and prints.
"""

from sepadan.cli.core import app, main

__all__ = ["app", "main"]
