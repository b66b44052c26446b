#!/usr/bin/env bash
# Set up a class server on The Littlest JupyterHub (https://tljh.jupyter.org) for lsn_explorer.
# Run as root on the hub machine, after TLJH itself is installed, from a clone of this repository:
#   sudo bash deploy/tljh/install.sh
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
USER_PY=/opt/tljh/user/bin/python

# the apps and notebooks where every student's server starts (read-only for students)
rsync -a --delete --exclude .git --exclude .venv "$REPO/" /srv/lsn_explorer/
# torch's CPU build, then the package, into the users' environment
"$USER_PY" -m pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu "torch>=2.2,<2.14"
"$USER_PY" -m pip install --no-cache-dir /srv/lsn_explorer
chmod -R a+rX /srv/lsn_explorer
# (each student's data cache is their own ~/.cache/lsn_explorer: the phantom is generated there on
# first use, in about 5 s, and the real CT sample fetched there when asked for)

install -m 644 "$REPO/deploy/tljh/lsn_explorer_hub.py" /opt/tljh/config/jupyterhub_config.d/lsn_explorer_hub.py
# per-student limits (see docs/teaching.md), and culling of idle servers
tljh-config set limits.memory 1G
tljh-config set limits.cpu 1
tljh-config set services.cull.timeout 1800
tljh-config set services.cull.every 300
tljh-config reload
