"""A plugin that fails to import."""

raise RuntimeError("this plugin explodes on import")
