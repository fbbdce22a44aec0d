"""Test images built from Debian packages: a PostgreSQL 15 image and an Odoo stand-in image.

The official images cannot be pulled here, so :mod:`tests.images.build` makes images with the
same interface (see ``python -m tests.images.build``).
"""
