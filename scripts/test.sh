#!/usr/bin/env bash
# Run the test suite. With DATABASE_URL and CELERY_BROKER_URL set, the tests
# use that MySQL or MariaDB server and that Redis broker. Without them they
# use SQLite and skip the tests that need a real broker.
# Extra arguments go to pytest, as in: scripts/test.sh -m "not slow".
set -euo pipefail

cd "$(dirname "$0")/.."
scripts/setup.sh dev
export TF_CPP_MIN_LOG_LEVEL=3
exec .venv/bin/python -m pytest "$@"
