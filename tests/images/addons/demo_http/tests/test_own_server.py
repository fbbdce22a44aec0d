"""HttpCase tests that need the HTTP server of the test run itself (``127.0.0.1:http_port``)."""

from odoo.tests.common import HttpCase, tagged
from odoo.tools import config


@tagged("post_install", "-at_install")
class TestOwnServer(HttpCase):
    def test_health(self):
        self.assertEqual(self.base_url(), f"http://127.0.0.1:{config['http_port']}")
        reply = self.url_open("/web/health")
        self.assertEqual(reply.status_code, 200)
        self.assertEqual(reply.json(), {"status": "pass"})

    def test_session(self):
        anonymous = self.url_open("/odoo", allow_redirects=False)
        self.assertEqual(anonymous.status_code, 303)
        self.authenticate("admin", "admin")
        page = self.url_open("/odoo", allow_redirects=False)
        self.assertEqual(page.status_code, 200)
