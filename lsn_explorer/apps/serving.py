"""Serving the apps to a class from one machine: a ceiling on kernels, shutdown on close, culling that spares the pool.

Voila starts one kernel (a Python process holding the app: 151 MB for the kernel explorer, more
once a student's action loads torch) for every page load. :class:`ClassroomKernelManager` is the kernel manager the
repository's ``voila.json`` configures:

* **a ceiling from the machine**: at most :meth:`ClassroomKernelManager.ceiling` kernels run
  at once, pre-heated ones included, computed from the memory and the cores the server may
  use (:func:`kernel_ceiling`; ``max_kernels`` overrides it). A page load beyond it gets
  HTTP 503 with a page that says the server is full and to retry in a minute, instead of a
  machine that runs out of memory;
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
import math
import os
from dataclasses import dataclass
from pathlib import Path

from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web, websocket
from traitlets import Float, Integer

__all__ = ["ClassroomKernelManager", "XsrfCookieIdentityProvider", "FULL_REASON", "Ceiling", "Machine",
           "config_ceiling", "kernel_ceiling", "machine_resources", "serving_limits"]

#: The status line of the page a visitor gets when the ceiling is reached.
FULL_REASON = "The server is full: retry in a minute"

#: Defaults of the ceiling's formula (see :func:`kernel_ceiling`).
KERNEL_MEMORY_MIB = 320
RESERVED_MEMORY_MIB = 1536
KERNELS_PER_CORE = 20.0


@dataclass(frozen=True)
class Machine:
    """What the server may use: memory in MiB (all of it, and available now) and cores."""

    memory_mib: float
    available_mib: float
    cores: float


@dataclass(frozen=True)
class Ceiling:
    """The kernel ceiling and the two bounds it is the smaller of (``source``: formula or override)."""

    kernels: int
    by_memory: int
    by_cores: int
    machine: Machine
    source: str = "machine"

    def __str__(self) -> str:
        if self.source == "override":
            return f"{self.kernels} (max_kernels)"
        m = self.machine
        return (f"{self.kernels} = min({self.by_memory} by memory: {m.memory_mib / 1024:.1f} GiB, "
                f"{m.available_mib / 1024:.1f} GiB available; {self.by_cores} by cores: {m.cores:g})")


def _read(path: str) -> str | None:
    """A small file's text, stripped, or None where it cannot be read."""
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _cgroup_memory_mib() -> float | None:
    """The memory limit of this process's cgroup (v2, then v1), in MiB, or None without one."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        text = _read(path)
        if text and text.isdigit() and int(text) < 2**60:
            return int(text) / 2**20
    return None


def _cgroup_cores() -> float | None:
    """The CPU quota of this process's cgroup (v2 ``cpu.max``, then v1 CFS), in cores, or None."""
    text = _read("/sys/fs/cgroup/cpu.max")
    if text and text.split()[0].isdigit():
        quota, period = (int(x) for x in text.split()[:2])
        return quota / period
    quota, period = _read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), _read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    if quota and period and quota.lstrip("-").isdigit() and int(quota) > 0:
        return int(quota) / int(period)
    return None


def machine_resources() -> Machine:
    """The memory and cores this process may use: the machine's, within its container's (cgroup) limits.

    Memory is ``MemTotal`` and ``MemAvailable`` of ``/proc/meminfo`` (elsewhere the physical
    memory, taken as all available), capped by the cgroup's limit; cores are the CPUs this
    process may run on, capped by the cgroup's quota.

    Returns
    -------
    Machine
    """
    info = {}
    for line in (_read("/proc/meminfo") or "").splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            info[key] = int(value.split()[0]) / 1024
    total = info.get("MemTotal") or os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    available = info.get("MemAvailable", total)
    limit = _cgroup_memory_mib()
    if limit is not None:
        total, available = min(total, limit), min(available, limit)
    cores = float(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    quota = _cgroup_cores()
    return Machine(memory_mib=total, available_mib=available, cores=min(cores, quota) if quota else cores)


def kernel_ceiling(machine: Machine | None = None, *, kernel_memory_mib: float = KERNEL_MEMORY_MIB,
                   reserved_memory_mib: float = RESERVED_MEMORY_MIB, kernels_per_core: float = KERNELS_PER_CORE,
                   max_kernels: int = 0) -> Ceiling:
    """How many kernels one server may run at once, from its memory and cores.

    ``ceiling = max(1, min(by_memory, by_cores))`` with

    * ``by_memory = floor((min(memory, available) - reserved_memory_mib) / kernel_memory_mib)``:
      the memory the server may use (the machine's or its container's, and no more than is
      available when the server starts), less what the system and the server itself need,
      shared out in kernels of ``kernel_memory_mib``;
    * ``by_cores = floor(cores * kernels_per_core)``: an open kernel costs no CPU while its
      student reads, but each arrival costs about 2 CPU-seconds (kernel start, the app's
      first render) and each interaction a little; ``kernels_per_core`` is how many students
      a core serves with the page in under 10 s (``benchmarks/classroom.py --curve``).

    Parameters
    ----------
    machine : Machine, optional
        Default :func:`machine_resources`.
    kernel_memory_mib : float, optional
        Memory planned per kernel. Default 320: the kernel explorer's kernel holds 151 MB, and
        452 MB once a student loads a model file of their own (which imports torch).
    reserved_memory_mib : float, optional
        Memory kept for the system, the server and the pool's refills. Default 1536.
    kernels_per_core : float, optional
        Default 20.
    max_kernels : int, optional
        A positive value overrides the formula. Default 0.

    Returns
    -------
    Ceiling
    """
    machine = machine or machine_resources()
    budget = min(machine.memory_mib, machine.available_mib) - reserved_memory_mib
    by_memory = max(0, math.floor(budget / kernel_memory_mib))
    by_cores = max(0, math.floor(machine.cores * kernels_per_core))
    if max_kernels > 0:
        return Ceiling(int(max_kernels), by_memory, by_cores, machine, source="override")
    return Ceiling(max(1, min(by_memory, by_cores)), by_memory, by_cores, machine)


class ClassroomKernelManager(AsyncMappingKernelManager):
    """A kernel manager with a ceiling on running kernels whose culler spares Voila's pool.

    The ceiling (pre-heated kernels included) is :func:`kernel_ceiling` of the machine with
    the configured ``kernel_memory_mib``, ``reserved_memory_mib`` and ``kernels_per_core``,
    computed once when the first kernel starts, unless ``max_kernels`` sets it.

    Attributes
    ----------
    max_kernels : int
        A fixed ceiling (config ``ClassroomKernelManager.max_kernels``); 0 (default): from the machine.
    kernel_memory_mib, reserved_memory_mib, kernels_per_core : float
        The formula's parameters (config ``ClassroomKernelManager.<name>``).
    """

    max_kernels = Integer(0, config=True, help="A fixed ceiling on kernels, pre-heated ones included; "
                                               "0: computed from the machine's memory and cores.")
    kernel_memory_mib = Float(KERNEL_MEMORY_MIB, config=True, help="Memory planned per kernel, MiB.")
    reserved_memory_mib = Float(RESERVED_MEMORY_MIB, config=True, help="Memory kept for the system and server, MiB.")
    kernels_per_core = Float(KERNELS_PER_CORE, config=True, help="Kernels one core serves.")

    def ceiling(self) -> Ceiling:
        """The kernel ceiling of this server (computed on first use, then kept)."""
        if getattr(self, "_ceiling", None) is None:
            self._ceiling = kernel_ceiling(
                kernel_memory_mib=self.kernel_memory_mib, reserved_memory_mib=self.reserved_memory_mib,
                kernels_per_core=self.kernels_per_core, max_kernels=self.max_kernels)
            self.log.info("Kernel ceiling: %s", self._ceiling)
        return self._ceiling

    def running_kernels(self) -> int:
        """Kernels running or starting now."""
        return len(set(self.list_kernel_ids()) | set(self._pending_kernels))

    async def start_kernel(self, *args, **kwargs) -> str:
        """Start a kernel, or raise HTTP 503 with :data:`FULL_REASON` when :meth:`ceiling` kernels run."""
        limit = self.ceiling().kernels
        if self.running_kernels() >= limit:
            raise web.HTTPError(
                503, "All %d kernels of this server are in use by other students. "
                "Please retry in a minute; a closed tab frees its kernel.", limit, reason=FULL_REASON)
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


def config_ceiling(config: dict, machine: Machine | None = None) -> Ceiling:
    """The kernel ceiling a parsed ``voila.json`` gives on ``machine`` (default: this one)."""
    manager = config.get("ClassroomKernelManager", {})
    names = ("kernel_memory_mib", "reserved_memory_mib", "kernels_per_core", "max_kernels")
    return kernel_ceiling(machine, **{name: manager[name] for name in names if name in manager})


def serving_limits(config: dict, machine: Machine | None = None) -> str:
    """One line saying the limits a ``voila.json`` sets on this machine: ceiling, pool, culling.

    Parameters
    ----------
    config : dict
        The parsed ``voila.json``.
    machine : Machine, optional
        Default :func:`machine_resources`.

    Returns
    -------
    str
    """
    manager = config.get("ClassroomKernelManager", {})
    voila = config.get("VoilaConfiguration", {})
    pool = voila.get("default_pool_size", 1) if voila.get("preheat_kernel") else 0
    return (f"at most {config_ceiling(config, machine)} kernels at once "
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
