"""The ``web`` module of the stand-in (no models; the HTTP server is built into the stand-in)."""
