"""The package version, in a module of its own: label writers stamp it into their files, and
importing it from ``microlab`` itself would make them depend on the whole package."""

__version__ = "0.1.0"
