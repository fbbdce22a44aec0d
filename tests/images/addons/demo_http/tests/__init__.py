from . import test_own_server  # noqa: F401
