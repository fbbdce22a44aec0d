"""Built-in Oduflow plugins, registered through the ``oduflow`` entry-point group like any third-party plugin."""
