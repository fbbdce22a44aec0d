"""``ir.attachment`` with Odoo's filestore layout: ``DATA_DIR/filestore/DB/ab/abcdef...`` (sha1)."""

from __future__ import annotations

import base64
import hashlib
import logging
import mimetypes
import os
from typing import Any

from odoo import api, fields, models
from odoo.tools import config

_logger = logging.getLogger(__name__)


class IrAttachment(models.Model):
    """A file stored in the filestore (``store_fname``) or in the database (``db_datas``)."""

    _name = "ir.attachment"
    _description = "Attachment"
    _order = "id desc"

    name = fields.Char("Name", required=True)
    description = fields.Text("Description")
    res_name = fields.Char("Resource Name")
    res_model = fields.Char("Resource Model")
    res_field = fields.Char("Resource Field")
    res_id = fields.Many2oneReference("Resource ID")
    company_id = fields.Many2one("res.company", "Company")
    type = fields.Selection(
        [("url", "URL"), ("binary", "File")], string="Type", default="binary", required=True
    )
    url = fields.Char("Url", index=True)
    public = fields.Boolean("Is public document")
    access_token = fields.Char("Access Token")
    raw = fields.Binary("File Content (raw)", compute="_compute_raw", inverse="_inverse_raw")
    datas = fields.Binary("File Content (base64)", compute="_compute_datas", inverse="_inverse_datas")
    db_datas = fields.Binary("Database Data", attachment=False)
    store_fname = fields.Char("Stored Filename", index=True)
    file_size = fields.Integer("File Size")
    checksum = fields.Char("Checksum/SHA1", index=True)
    mimetype = fields.Char("Mime Type")
    index_content = fields.Text("Indexed Content")

    @api.model
    def _filestore(self) -> str:
        return config.filestore(self.env.cr.dbname)

    @api.model
    def _full_path(self, path: str) -> str:
        return os.path.join(self._filestore(), path)

    def _read_raw(self) -> bytes:
        if self.store_fname:
            try:
                with open(self._full_path(self.store_fname), "rb") as fh:
                    return fh.read()
            except OSError:
                _logger.info("_read_file reading %s", self._full_path(self.store_fname), exc_info=True)
                return b""
        return base64.b64decode(self.db_datas) if self.db_datas else b""

    def _compute_raw(self) -> None:
        for attach in self:
            attach.raw = attach._read_raw() or False

    def _compute_datas(self) -> None:
        for attach in self:
            raw = attach._read_raw()
            attach.datas = base64.b64encode(raw) if raw else False

    def _inverse_raw(self) -> None:
        for attach in self:
            attach._store(self.env.cache.get((self._name, attach.id, "raw")) or b"")

    def _inverse_datas(self) -> None:
        for attach in self:
            value = self.env.cache.get((self._name, attach.id, "datas")) or b""
            attach._store(base64.b64decode(value) if value else b"")

    def _store(self, raw: bytes | str) -> None:
        if isinstance(raw, str):
            raw = raw.encode()
        checksum = hashlib.sha1(raw).hexdigest()
        fname = f"{checksum[:2]}/{checksum}"
        full = self._full_path(fname)
        if raw and not os.path.exists(full):
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as fh:
                fh.write(raw)
        mimetype = self.mimetype or mimetypes.guess_type(self.name or "")[0] or "application/octet-stream"
        self.write(
            {
                "store_fname": fname if raw else False,
                "file_size": len(raw),
                "checksum": checksum,
                "mimetype": mimetype,
                "db_datas": False,
            }
        )

    @api.model_create_multi
    def create(self, vals_list: list[dict[str, Any]]) -> Any:
        """Create attachments, writing ``datas``/``raw`` to the filestore."""
        contents = []
        prepared = []
        for vals in vals_list:
            vals = dict(vals)
            raw = vals.pop("raw", None)
            datas = vals.pop("datas", None)
            if raw is None and datas:
                raw = base64.b64decode(datas)
            contents.append(raw)
            prepared.append(vals)
        records = super().create(prepared)
        for attach, raw in zip(records, contents, strict=True):
            if raw is not None:
                attach._store(raw)
        return records
