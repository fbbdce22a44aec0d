"""``odoo.tests``: test case classes and tags."""

from odoo.tests import common
from odoo.tests.common import (
    BaseCase,
    Form,
    HttpCase,
    SingleTransactionCase,
    TransactionCase,
    new_test_user,
    tagged,
    users,
    warmup,
)

__all__ = [
    "BaseCase",
    "Form",
    "HttpCase",
    "SingleTransactionCase",
    "TransactionCase",
    "common",
    "new_test_user",
    "tagged",
    "users",
    "warmup",
]
