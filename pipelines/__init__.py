"""Beam wiring: thin PTransforms around the pure logic in `corpus` and `filters`."""

import logging


def _not_known_noise(record: logging.LogRecord) -> bool:
    # `import apache_beam` warns on the root logger when the optional GCP clients are absent, in the
    # launcher and in every local worker; without the `dataflow` extra that is expected, not news.
    return "apitools not found" not in record.getMessage()


logging.getLogger().addFilter(_not_known_noise)
