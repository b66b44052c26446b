# The Littlest JupyterHub: every student's server opens on the kernel explorer.
# Installed by deploy/tljh/install.sh into /opt/tljh/config/jupyterhub_config.d/, which TLJH loads
# after its own configuration; memory and CPU limits and culling are set with tljh-config there.
c.Spawner.notebook_dir = "/srv/lsn_explorer"  # noqa: F821 - `c` is given by JupyterHub
c.Spawner.default_url = "/voila/render/apps/kernel_explorer.ipynb"  # noqa: F821
