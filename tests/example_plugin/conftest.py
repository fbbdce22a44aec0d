"""Makes ``oduflow_example_plugin`` importable from a source checkout (pytest puts this
directory on ``sys.path``), so the tests run with or without ``pip install .``.

The fixtures the tests use (``oduflow_hooks``, ``register_plugin``, ``builtin_plugins``)
come from ``oduflow.testing``, which installing Oduflow registers as a pytest plugin.
"""
