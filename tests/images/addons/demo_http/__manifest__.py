{"name": "Demo HTTP", "version": "18.0.1.0.0", "depends": ["base"], "license": "LGPL-3"}  # noqa: B018
