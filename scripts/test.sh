#!/usr/bin/env bash
# Run the test suite. With DATABASE_URL and CELERY_BROKER_URL set, tests run
# against that MySQL or MariaDB server and that Redis broker; without them,
# against SQLite, and the tests that need a real broker are skipped.
# Extra arguments go to pytest, as in scripts/test.sh -m "not slow".
set -euo pipefail

cd "$(dirname "$0")/.."
scripts/setup.sh dev
export TF_CPP_MIN_LOG_LEVEL=3
exec .venv/bin/python -m pytest "$@"
