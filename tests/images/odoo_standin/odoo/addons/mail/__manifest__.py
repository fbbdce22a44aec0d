{  # noqa: B018  (a manifest is a bare dict literal)
    "name": "Discuss",
    "version": "1.17",
    "category": "Productivity/Discuss",
    "summary": "Chat, mail gateway and private channels (stand-in: thread mixins, messages, mail servers)",
    "depends": ["base", "web"],
    "auto_install": True,
    "license": "LGPL-3",
}
