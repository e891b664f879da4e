"""A progress bar for training that shows the step, images/s and the latest losses."""

from __future__ import annotations

from tqdm.auto import tqdm


class ProgressReporter:
    def __init__(self, total: int, initial: int = 0, enabled: bool = True):
        self.bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, disable=not enabled)

    def update(self, step: int, images_per_second: float, stats: dict[str, float]) -> None:
        self.bar.n = step
        losses = {key.split("/", 1)[1][:10]: f"{value:.3f}" for key, value in stats.items() if key.startswith("loss/")}
        self.bar.set_postfix({"img/s": f"{images_per_second:.0f}", **losses}, refresh=False)
        self.bar.update(0)

    def close(self) -> None:
        self.bar.close()
