"""Built-in Oduflow plugins, registered through the ``oduflow`` entry-point group."""
