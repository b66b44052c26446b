"""The exercise checks pass with the library's solution and fail on the blank and on plausible mistakes."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F

from lsn_explorer.exercises import (
    TUNING_TARGET,
    check_kernel_identification,
    check_tuned_parameters,
    check_upwind_step,
    mystery_kernels,
    run_tuned_parameters,
    tuning_problem,
)
from lsn_explorer.kernels import identify_kernels
from lsn_explorer.levelset.operators import apply_stencils, central_gradient, one_sided_differences, upwind_advection
from lsn_explorer.levelset.stencils import XN, XP, YN, YP, as_weight


def _solution_step(u, vx, vy, dt):
    return u + dt * upwind_advection(one_sided_differences(u), vx, vy)


def _blank_step(u, vx, vy, dt):
    raise NotImplementedError("fill in the upwind step")


def _differences(u):
    d = apply_stencils(u, as_weight([XP, XN, YP, YN], u))
    return d[:, 0:1], d[:, 1:2], d[:, 2:3], d[:, 3:4]


def _downwind_step(u, vx, vy, dt):
    dxp, dxn, dyp, dyn = _differences(u)
    return u + dt * (F.relu(vx) * dxn - F.relu(-vx) * dxp + F.relu(vy) * dyn - F.relu(-vy) * dyp)


def _centred_step(u, vx, vy, dt):
    ux, uy = central_gradient(u)
    return u + dt * (vx * ux + vy * uy)


def _zero_padded_step(u, vx, vy, dt):
    d = F.conv2d(F.pad(u, (1, 1, 1, 1)), as_weight([XP, XN, YP, YN], u))
    dxp, dxn, dyp, dyn = d[:, 0:1], d[:, 1:2], d[:, 2:3], d[:, 3:4]
    return u + dt * (F.relu(vx) * dxp - F.relu(-vx) * dxn + F.relu(vy) * dyp - F.relu(-vy) * dyn)


def _x_and_y_swapped_step(u, vx, vy, dt):
    return _solution_step(u, vy, vx, dt)


def test_upwind_check_passes_with_the_solvers_operator(capsys):
    check_upwind_step(_solution_step)
    assert capsys.readouterr().out.startswith("✓ upwind step")


def test_upwind_check_fails_on_the_blank():
    with pytest.raises(AssertionError, match="NotImplementedError"):
        check_upwind_step(_blank_step)


@pytest.mark.parametrize(
    ("step", "hint"),
    [(_downwind_step, "DOWNWIND"), (_centred_step, "CENTRED"), (_zero_padded_step, "border"),
     (_x_and_y_swapped_step, "term by term")],
)
def test_upwind_check_names_the_mistake(step, hint):
    with pytest.raises(AssertionError, match=hint):
        check_upwind_step(step)


def test_upwind_check_rejects_a_wrong_shape():
    with pytest.raises(AssertionError, match="shape"):
        check_upwind_step(lambda u, vx, vy, dt: u[0, 0])


def test_mystery_kernels_are_fixed_and_named_by_the_library():
    first, second = mystery_kernels(), mystery_kernels()
    assert all((first[k] == second[k]).all() for k in first)
    ident = identify_kernels(np.stack([first[k] for k in sorted(first)]))
    assert len(set(ident.operator)) == 3 and (ident.residual < 0.1).all()


def _library_answer():
    kernels = mystery_kernels()
    names = sorted(kernels)
    ident = identify_kernels([kernels[n] for n in names])
    return dict(zip(names, ident.operator.tolist()))


def test_kernel_check_passes_with_the_library_identification(capsys):
    check_kernel_identification(_library_answer())
    assert "✓ kernels" in capsys.readouterr().out


def test_kernel_check_fails_on_the_blank():
    with pytest.raises(AssertionError, match="no answer yet"):
        check_kernel_identification({"A": None, "B": None, "C": None})


def test_kernel_check_fails_when_x_and_y_are_confused():
    answer = _library_answer()
    first_order = next(k for k, v in answer.items() if v in ("dx", "dy"))
    answer[first_order] = "dx" if answer[first_order] == "dy" else "dy"
    with pytest.raises(AssertionError, match="m10 = .*row pointing down"):
        check_kernel_identification(answer)


def test_kernel_check_asks_for_an_operator_not_a_stencil_name():
    answer = {**_library_answer(), "C": "gaussian"}
    with pytest.raises(AssertionError, match="stencil's name"):
        check_kernel_identification(answer)


def test_tuning_problem_is_a_liver_slice_with_a_bubble_inside():
    p = tuning_problem()
    assert p.image.shape == p.mask.shape == (128, 128) and p.mask.sum() > 500
    assert bool(((p.u0 > 0).numpy() <= p.mask).all()) and (p.u0 > 0).sum() > 0


def test_tuning_check_fails_on_the_blank():
    with pytest.raises(AssertionError, match="no value yet"):
        check_tuned_parameters({"alpha": None, "beta": None, "gamma": None, "num_iter": None})


def test_tuning_check_fails_with_parameters_that_leak():
    # pure balloon, no curvature: the front runs through the weak edges into the neighbours
    with pytest.raises(AssertionError, match="LEAKS"):
        check_tuned_parameters({"alpha": 1.0, "beta": 0.0, "gamma": 0.0, "num_iter": 600})


def test_tuning_check_fails_when_stopped_short():
    with pytest.raises(AssertionError, match="SHORT"):
        check_tuned_parameters({"alpha": 1.0, "beta": 0.2, "gamma": 1.0, "num_iter": 30})


def test_tuning_check_passes_with_tuned_parameters(capsys):
    tuned = {"alpha": 1.0, "beta": 0.2, "gamma": 1.0, "num_iter": 500}
    dice = check_tuned_parameters(tuned)
    assert dice >= TUNING_TARGET and dice == pytest.approx(run_tuned_parameters(tuned)[0])
    assert "✓ tuned parameters" in capsys.readouterr().out
