# The Littlest JupyterHub: every student works in a writable copy of the course in their own home,
# ~/lsn_explorer, and their server opens on the kernel explorer there.
# Installed by deploy/tljh/install.sh into /opt/tljh/config/jupyterhub_config.d/, which TLJH loads
# after its own configuration; memory and CPU limits and culling are set with tljh-config there.
#
# The copy runs as the student, first thing when their server starts (TLJH creates the student's
# system user just before that, so a hub-side pre-spawn hook could not own the files to them):
# student_home.py brings the read-only master copy /srv/lsn_explorer/course into ~/lsn_explorer,
# never overwriting a file the student changed, then starts jupyterhub-singleuser in its place.
c.Spawner.cmd = [  # noqa: F821 - `c` is given by JupyterHub
    "/opt/tljh/user/bin/python",
    "/srv/lsn_explorer/student_home.py",
    "copy",
    "/srv/lsn_explorer/course",
    "--dest",
    "~/lsn_explorer",
    "--",
    "jupyterhub-singleuser",
]
c.Spawner.notebook_dir = "~/lsn_explorer"  # noqa: F821
c.Spawner.default_url = "/voila/render/apps/kernel_explorer.ipynb"  # noqa: F821
