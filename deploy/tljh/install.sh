#!/usr/bin/env bash
# Set up a class server on The Littlest JupyterHub (https://tljh.jupyter.org) for lsn_explorer.
# Run as root on the hub machine, after TLJH itself is installed, from a clone of this repository
# kept where students cannot read it (it may hold the course source, with solutions):
#   sudo bash deploy/tljh/install.sh
# Run it again after updating the clone to give out a new release: students receive it at their
# next server start, and keep every file they changed (docs/teaching.md).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
USER_PY=/opt/tljh/user/bin/python
SRV=/srv/lsn_explorer

# torch's CPU build, then the package, into the users' environment
"$USER_PY" -m pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu "torch>=2.2,<2.14"
"$USER_PY" -m pip install --no-cache-dir "$REPO"
# (each student's data cache is their own ~/.cache/lsn_explorer: the phantom is generated there on
# first use, in about 5 s, and the real CT sample fetched there when asked for)

# the master copy of what students get (released notebooks, apps, the results the notebooks read),
# owned by root and read-only for students, and the script that copies it into each student's
# ~/lsn_explorer when their server starts (deploy/tljh/lsn_explorer_hub.py)
install -d -m 755 "$SRV"
"$USER_PY" "$REPO/deploy/student_home.py" stage "$REPO" "$SRV/course"
install -m 755 "$REPO/deploy/student_home.py" "$SRV/student_home.py"
# nothing else in /srv/lsn_explorer (an earlier install kept a whole checkout there)
find "$SRV" -mindepth 1 -maxdepth 1 ! -name course ! -name student_home.py -exec rm -rf {} +
chmod -R a+rX,go-w "$SRV"

install -m 644 "$REPO/deploy/tljh/lsn_explorer_hub.py" /opt/tljh/config/jupyterhub_config.d/lsn_explorer_hub.py
# per-student limits (see docs/teaching.md), and culling of idle servers
tljh-config set limits.memory 1G
tljh-config set limits.cpu 1
tljh-config set services.cull.timeout 1800
tljh-config set services.cull.every 300
tljh-config reload
