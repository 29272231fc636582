"""The HTTP API (FastAPI) sits on :class:`sepadan.engine.Engine`, as the CLI does."""
