"""Internals of the stand-in ORM."""
