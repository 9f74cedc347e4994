"""Entry point of the local SDK worker processes (multi-process FnApiRunner runs).

Beam's own worker logs every bundle at INFO to the terminal; this one prints errors only, so that
a local run's progress line and summary stay readable. (Failures still reach the launcher, which
reports them.)
"""

import logging
import sys

from apache_beam.runners.worker import sdk_worker_main

if __name__ == "__main__":
    for handler in logging.getLogger().handlers:  # the stderr handler Beam installs on import
        handler.setLevel(logging.ERROR)
    sdk_worker_main.main(sys.argv)
