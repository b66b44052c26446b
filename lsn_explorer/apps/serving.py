"""Serving the apps to a class from one machine: a ceiling on kernels, shutdown on close, culling that spares the pool.

Voila starts one kernel (a Python process holding the app: 151 MB for the kernel explorer, more
once a student's action loads torch) for every page load. :class:`ClassroomKernelManager` is the kernel manager the
repository's ``voila.json`` configures:

* **a ceiling**: at most ``max_kernels`` kernels run at once, pre-heated ones included;
  a page load beyond it gets HTTP 503 with a page that says the server is full and to
  retry in a minute, instead of a machine that runs out of memory;
* **shutdown on close**: closing a tab makes Voila's page ask the server to shut its
  kernel down at once, a request that carries the page's ``_xsrf`` cookie. Voila streams
  its page before anything sets that cookie, so without
  :class:`XsrfCookieIdentityProvider` (``Voila.identity_provider_class`` in
  ``voila.json``), which sets it first, the request is refused;
* **culling**: a kernel whose tab went away without a word (a crashed browser, a lost
  network) is shut down ``cull_idle_timeout`` seconds after its last activity (Jupyter
  Server's culler, configured in ``voila.json``), but the pre-heated kernels waiting in
  Voila's pool are never culled: they are idle by design, and culling them would leave
  the next student without one.

``voila.json`` at the repository root is read by every ``voila`` started there
(``make app``, ``voila apps/NAME.ipynb``, Binder's ``voila`` launch).
"""

from __future__ import annotations

import inspect

from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web, websocket
from traitlets import Integer

__all__ = ["ClassroomKernelManager", "XsrfCookieIdentityProvider", "FULL_REASON", "serving_limits"]

#: The status line of the page a visitor gets when the ceiling is reached.
FULL_REASON = "The server is full: retry in a minute"


class ClassroomKernelManager(AsyncMappingKernelManager):
    """A kernel manager with a ceiling on running kernels whose culler spares Voila's pool.

    Attributes
    ----------
    max_kernels : int
        The most kernels that may run at once, pre-heated ones included (config
        ``ClassroomKernelManager.max_kernels``). Default 12.
    """

    max_kernels = Integer(12, config=True, help="The most kernels that may run at once, pre-heated ones included.")

    def running_kernels(self) -> int:
        """Kernels running or starting now."""
        return len(set(self.list_kernel_ids()) | set(self._pending_kernels))

    async def start_kernel(self, *args, **kwargs) -> str:
        """Start a kernel, or raise HTTP 503 with :data:`FULL_REASON` when ``max_kernels`` run."""
        if self.running_kernels() >= self.max_kernels:
            raise web.HTTPError(
                503, "All %d kernels of this server are in use by other students. "
                "Please retry in a minute; a closed tab frees its kernel.", self.max_kernels, reason=FULL_REASON)
        return await super().start_kernel(*args, **kwargs)

    def pooled_kernel_ids(self) -> set[str]:
        """The pre-heated kernels waiting in Voila's pool (empty without ``preheat_kernel``)."""
        ids = set()
        for pool in getattr(self, "_pools", {}).values():
            for task in pool:
                if task.done() and not task.cancelled() and task.exception() is None:
                    ids.add(task.result().get("kernel_id"))
        return ids

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """Jupyter Server's idle culling, except for a kernel waiting in the pool."""
        if kernel_id in self.pooled_kernel_ids():
            return
        await super().cull_kernel_if_idle(kernel_id)


class XsrfCookieIdentityProvider(PasswordIdentityProvider):
    """Voila's identity provider, which also sets the ``_xsrf`` cookie on every page it serves.

    Voila's page posts that cookie when its tab closes, to shut the tab's kernel down.
    Tornado sets the cookie the first time a handler reads ``xsrf_token``, but Voila's
    page handler reads it only after it has started streaming the page, when headers
    can no longer change. Reading it here, while the request is authenticated, sets it
    before anything is sent.
    """

    def get_user(self, handler: web.RequestHandler):
        """The user, as Voila's default provider finds it, after setting the XSRF cookie of a page."""
        user = super().get_user(handler)
        if inspect.isawaitable(user):
            async def then():
                found = await user
                _set_xsrf_cookie(handler, found)
                return found

            return then()
        _set_xsrf_cookie(handler, user)
        return user


def _set_xsrf_cookie(handler: web.RequestHandler, user) -> None:
    if handler.request.method == "GET" and not isinstance(handler, websocket.WebSocketHandler):
        handler.current_user = user  # what JupyterHandler.prepare sets next; the token's cookie reads it
        handler.xsrf_token  # noqa: B018  (reading it sets the cookie)


def serving_limits(config: dict) -> str:
    """One line saying the limits a ``voila.json`` sets: ceiling, pool, culling.

    Parameters
    ----------
    config : dict
        The parsed ``voila.json``.

    Returns
    -------
    str
    """
    manager = config.get("ClassroomKernelManager", {})
    voila = config.get("VoilaConfiguration", {})
    pool = voila.get("default_pool_size", 1) if voila.get("preheat_kernel") else 0
    return (f"at most {manager.get('max_kernels', ClassroomKernelManager.max_kernels.default_value)} kernels at once "
            f"({pool} pre-heated per app); a closed tab's kernel is shut down at once, an abandoned one after "
            f"{manager.get('cull_idle_timeout', 0)} s idle (checked every {manager.get('cull_interval', 300)} s)")


def main(argv=None) -> None:
    """``python -m lsn_explorer.apps.serving --port P``: print the URL ``make app`` serves and its limits."""
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--config", type=Path, default=Path("voila.json"))
    args = parser.parse_args(argv)
    limits = serving_limits(json.loads(args.config.read_text())) if args.config.is_file() else "Voila's defaults"
    print(f"Serving the kernel explorer on http://127.0.0.1:{args.port}/ (this machine only)\nLimits: {limits}",
          flush=True)


if __name__ == "__main__":
    main()
