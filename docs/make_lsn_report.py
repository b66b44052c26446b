"""The measurements behind docs/lsn.md: what the three level-set networks learn, and why.

    python docs/make_lsn_report.py            # prints markdown tables (about 2 minutes on 2 CPU cores)

1. The ablation of the bundled LSN and LSN-G (each PDE term off in turn) on the held-out
   volumes of fold 0.
2. The source-term reading of LSN-G: its balloon layers with a perfect edge map (g small in the
   liver, 1 elsewhere) and a negative balloon weight, from the paper's noise u0, with the upwind
   |∇u| of this project and the central |∇u| of the authors' code.
3. The speed-map LSN's solver alone with oracle speeds (α = ±1 from the label, g = 1): how
   close the front gets to the liver, with the coarse α taken as the cell's minimum or mean.
4. The bundled speed-map LSN with and without its solver layers (the same weights).
"""

from __future__ import annotations

import numpy as np
import torch

from lsn_explorer.experiments.lsn_ablation import ablate, format_ablation
from lsn_explorer.metrics import dice_score, mean_volume_dice
from lsn_explorer.models import LearnedEdgeLSN, SpeedMapLSN, bundled_model, bundled_names
from lsn_explorer.inference import predict
from lsn_explorer.levelset import gac_step
from lsn_explorer.train import load_fold


def _dice_per_slice(u: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
    return np.array([dice_score(p > 0, m > 0) for p, m in zip(u[:, 0].numpy(), masks[:, 0].numpy())])


def ablations(valid, test) -> None:
    for name in ("lsn", "lsn-g"):
        if name not in bundled_names():
            print(f"(no bundled {name})\n")
            continue
        model = bundled_model(name)
        weights = ", ".join(f"{k} = {float(w.detach()):.3f}" for k, w in zip("αβγ", model.weights()))
        print(f"### bundled {name} ({weights}), held-out volumes of fold 0\n")
        print(format_ablation(ablate(model, test, tune=valid)))


def source_term(test) -> None:
    print("### LSN-G's balloon layers with a perfect edge map (g = 0.05 in the liver, 1 outside), u0 ~ U[0,1)\n")
    print("| α | upwind \\|∇u\\| (ours) | central \\|∇u\\| (the authors' code) |\n|---|---|---|")
    g = torch.where(test.masks > 0.5, 0.05, 1.0)
    net = LearnedEdgeLSN()
    u0, steps, dt = net.initial(test.images), net.config["num_steps"], net.config["dt"]
    for alpha in (-1.0, -2.0, -4.0, -8.0):
        cells = []
        for scheme in ("upwind", "central"):
            u = u0
            with torch.no_grad():
                for _ in range(steps):
                    u = gac_step(u, g, alpha=alpha, beta=0.0, gamma=0.0, dt=dt, scheme=scheme)
            cells.append(mean_volume_dice(u > 0, test))
        print(f"| {alpha:g} | {cells[0]:.3f} | {cells[1]:.3f} |")
    print()


def oracle_front(test) -> None:
    print("### speed-map LSN's solver with oracle speeds (α = 2·label − 1, g = 1), test slices with > 200 liver px\n")
    print("| coarse α | fine layers | min Dice | mean Dice |\n|---|---|---|---|")
    masks = test.masks[test.masks.flatten(1).sum(1) > 200]
    for pool in ("mean", "min"):
        for fine in (12, 20):
            net = SpeedMapLSN(coarse_alpha=pool, fine_steps=fine)
            dice = _dice_per_slice(net.solve(2 * masks - 1, torch.ones_like(masks)), masks)
            print(f"| {pool} | {fine} | {dice.min():.3f} | {dice.mean():.3f} |")
    print()


def speed_map_without_solver(valid, test) -> None:
    if "speed-map-lsn" not in bundled_names():
        print("(no bundled speed-map-lsn)\n")
        return
    model = bundled_model("speed-map-lsn")
    maps_only = SpeedMapLSN(**{**model.config, "pde": False})
    maps_only.load_state_dict(model.state_dict())
    print("### bundled speed-map LSN, same weights, with and without its solver layers\n")
    print("| volumes | with the solver (u_Nt > 0) | α map thresholded (α > 0) |\n|---|---|---|")
    for split, stack in (("held-out", test), ("validation", valid)):
        scores = [mean_volume_dice(predict(m, stack.images) > 0, stack)
                  for m in (model, maps_only)]
        print(f"| {split} | {scores[0]:.3f} | {scores[1]:.3f} |")
    print()


def main() -> None:
    torch.manual_seed(0)
    _, valid, test, _ = load_fold("phantom", fold=0, preset="quick")
    ablations(valid, test)
    source_term(test)
    oracle_front(test)
    speed_map_without_solver(valid, test)


if __name__ == "__main__":
    main()
