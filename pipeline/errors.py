"""Errors the pipeline raises; ``cli.py`` turns them into one-line messages and exit code 1.

PipelineError
├── ConfigError    the config file is missing, unreadable or invalid
├── SourceError    a seed file or feed could not be read or parsed
├── StoreError     the database cannot be opened, is at an unknown schema, or refused a write
└── ModelError     a model file is missing, corrupt, incompatible, or training data is bad
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the pipeline reports to the user."""


class ConfigError(PipelineError):
    """The configuration is missing or invalid."""


class SourceError(PipelineError):
    """One source (seed file or feed) could not be read."""


class StoreError(PipelineError):
    """The article store refused an operation."""


class ModelError(PipelineError):
    """A model artefact or its training data is unusable."""
