"""Serving a class: the repository's voila.json, a kernel ceiling from the machine with a friendly page, culling of closed tabs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lsn_explorer.apps import serving
from lsn_explorer.apps.serving import (
    FULL_REASON, ClassroomKernelManager, Machine, XsrfCookieIdentityProvider, config_ceiling, kernel_ceiling,
    machine_resources, serving_limits,
)

from harness import serve_voila, voila_kernels, wait_until

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "apps" / "kernel_explorer.ipynb"


def _visit_with_a_pooled_kernel(browser, url: str):
    """Open the app once the pool's kernel is up; ``(context, page)`` once the pool has a fresh one again."""
    assert wait_until(lambda: voila_kernels(url) == 1, 60), "the pool's pre-heated kernel did not start"
    context = browser.new_context()
    page = context.new_page()
    page.goto(url, timeout=120_000)
    page.wait_for_selector(".widget-dropdown", timeout=120_000)
    assert wait_until(lambda: voila_kernels(url) == 2, 60), "the used kernel was not replaced in the pool"
    return context, page


def test_voila_json_preheats_caps_and_culls_with_our_kernel_manager():
    config = json.loads((REPO / "voila.json").read_text())
    voila = config["VoilaConfiguration"]
    assert voila["preheat_kernel"] and voila["default_pool_size"] >= 1
    assert voila["multi_kernel_manager_class"] == f"{ClassroomKernelManager.__module__}.ClassroomKernelManager"
    assert config["Voila"]["identity_provider_class"] == f"{XsrfCookieIdentityProvider.__module__}.XsrfCookieIdentityProvider"
    manager = config["ClassroomKernelManager"]
    assert "max_kernels" not in manager, "the ceiling follows from the machine, not a fixed number"
    assert manager["cull_idle_timeout"] > 0
    assert manager["cull_connected"] is False  # a student reading an open tab keeps the kernel
    ceiling = config_ceiling(config)
    assert ceiling.kernels > voila["default_pool_size"]
    line = serving_limits(config)
    assert f"at most {ceiling.kernels} = min(" in line and f"{manager['cull_idle_timeout']} s idle" in line


def test_the_ceiling_is_the_smaller_of_memory_and_cores():
    # 24 GiB, 20 GiB available, 2 cores: memory (20480 - 1536) / 320 = 59 kernels, cores 2 x 20 = 40
    roomy = Machine(memory_mib=24576, available_mib=20480, cores=2)
    assert (kernel_ceiling(roomy).kernels, kernel_ceiling(roomy).by_memory, kernel_ceiling(roomy).by_cores) == (40, 59, 40)
    # 4 GiB on 16 cores: memory decides, (4096 - 1536) / 320 = 8
    assert kernel_ceiling(Machine(4096, 4096, 16)).kernels == 8
    # what is available when the server starts counts, not only what is installed
    assert kernel_ceiling(Machine(65536, 3072, 16)).kernels == 4
    # every parameter can be changed, and max_kernels overrides the formula
    assert kernel_ceiling(roomy, kernel_memory_mib=1024, kernels_per_core=100).kernels == 18
    assert kernel_ceiling(roomy, max_kernels=16).kernels == 16 and str(kernel_ceiling(roomy, max_kernels=16)) == "16 (max_kernels)"
    # a machine too small for the formula still serves one student
    assert kernel_ceiling(Machine(1024, 1024, 1)).kernels == 1
    assert "40 = min(59 by memory" in str(kernel_ceiling(roomy))


def test_the_machine_is_read_within_its_containers_limits(monkeypatch):
    real = machine_resources()
    assert real.memory_mib >= real.available_mib > 0 and real.cores >= 1
    files = {"/sys/fs/cgroup/memory.max": str(2 * 2**30), "/sys/fs/cgroup/cpu.max": "150000 100000"}
    monkeypatch.setattr(serving, "_read", lambda path: files.get(path, serving.Path(path).read_text().strip()
                                                                     if serving.Path(path).is_file() else None))
    boxed = machine_resources()
    assert boxed.memory_mib == 2048 and boxed.available_mib <= 2048 and boxed.cores == min(real.cores, 1.5)
    files["/sys/fs/cgroup/memory.max"], files["/sys/fs/cgroup/cpu.max"] = "max", "max 100000"
    assert machine_resources().memory_mib == real.memory_mib and machine_resources().cores == real.cores


def test_the_kernel_manager_takes_its_ceiling_from_the_config():
    from traitlets.config import Config

    config = Config({"ClassroomKernelManager": {"kernel_memory_mib": 1e9}})
    assert ClassroomKernelManager(config=config).ceiling().kernels == 1
    config = Config({"ClassroomKernelManager": {"max_kernels": 3}})
    assert ClassroomKernelManager(config=config).ceiling().kernels == 3
    assert ClassroomKernelManager().ceiling().by_cores == kernel_ceiling().by_cores


@pytest.mark.browser
def test_a_closed_tab_frees_its_kernel_and_the_pool_stays(browser, tmp_path):
    short = ["--ClassroomKernelManager.cull_idle_timeout=4", "--ClassroomKernelManager.cull_interval=2"]
    with serve_voila(APP, log_path=tmp_path / "voila.log", args=short) as url:
        context, _ = _visit_with_a_pooled_kernel(browser, url)
        context.close()
        # culled within timeout + interval (+ slack), while the idle pre-heated kernel is kept
        assert wait_until(lambda: voila_kernels(url) == 1, 4 + 2 + 15), f"{voila_kernels(url)} kernels left"
        time.sleep(8)  # past another idle timeout: the pool's kernel is still there
        assert voila_kernels(url) == 1


@pytest.mark.browser
def test_closing_the_tab_shuts_its_kernel_down_at_once(browser, tmp_path):
    # culling is pushed out of reach: only the page's own shutdown request can free the kernel
    never = ["--ClassroomKernelManager.cull_idle_timeout=600", "--ClassroomKernelManager.cull_interval=300"]
    with serve_voila(APP, log_path=tmp_path / "voila.log", args=never) as url:
        context, page = _visit_with_a_pooled_kernel(browser, url)
        assert any(cookie["name"] == "_xsrf" for cookie in context.cookies()), "the page set no _xsrf cookie"
        page.close(run_before_unload=True)
        assert wait_until(lambda: voila_kernels(url) == 1, 15), f"{voila_kernels(url)} kernels left after the close"
        context.close()
    assert "_xsrf' argument missing" not in (tmp_path / "voila.log").read_text()


@pytest.mark.browser
def test_a_full_server_answers_with_a_friendly_page(browser, tmp_path):
    with serve_voila(APP, log_path=tmp_path / "voila.log", args=["--ClassroomKernelManager.max_kernels=1"]) as url:
        assert wait_until(lambda: voila_kernels(url) == 1, 60)
        context = browser.new_context()
        first = context.new_page()
        first.goto(url, timeout=120_000)
        first.wait_for_selector(".widget-dropdown", timeout=120_000)  # the pre-heated kernel serves the first
        second = context.new_page()
        response = second.goto(url, timeout=120_000)
        text = second.inner_text("body")
        context.close()
    assert response.status == 503
    assert FULL_REASON in text and "Traceback" not in text
