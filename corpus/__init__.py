"""corpus: the foundation of the toolkit (document schema, formats, Arrow datasets, config, CLI)."""

__version__ = "0.1.0"
