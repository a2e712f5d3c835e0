#!/usr/bin/env bash
# Set up Attune, import MovieLens 100K, build profiles, train, and serve the
# site and API at 127.0.0.1:8000. With no DATABASE_URL or CELERY_BROKER_URL
# it uses a SQLite file under var/ and runs tasks in process.
set -euo pipefail

cd "$(dirname "$0")/.."
scripts/setup.sh runtime
export TF_CPP_MIN_LOG_LEVEL=3
manage=(.venv/bin/python manage.py)

"${manage[@]}" check
"${manage[@]}" migrate --no-input -v 0
"${manage[@]}" import_movielens
"${manage[@]}" train
login=$("${manage[@]}" demo_user)

echo
echo "Attune is serving http://127.0.0.1:8000/for-you/"
echo "$login"
echo "API: http://127.0.0.1:8000/api/v1/me/recommendations/?n=10 (docs at /api/docs/)"
echo
# --insecure serves the admin's static files although DEBUG is off.
exec "${manage[@]}" runserver --noreload --insecure 127.0.0.1:8000
