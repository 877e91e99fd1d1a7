import numpy as np
import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def random_pmf(rng, shape, zeros: float = 0.0) -> np.ndarray:
    """A random joint table of the given shape; a share ``zeros`` of its cells set to 0."""
    p = rng.random(shape)
    if zeros:
        p[rng.random(shape) < zeros] = 0.0
    if p.sum() == 0:
        p.flat[0] = 1.0
    return p / p.sum()


@pytest.fixture(scope="session")
def trained_logdir(tmp_path_factory):
    """A LOGDIR with one small trained digits run, analysed with shuffles (read-only: tests
    that change files copy it first)."""
    from inspector.analysis import AnalysisSettings, analyze_run
    from training.config import make_config
    from training.trainer import train

    logdir = tmp_path_factory.mktemp("logdir")
    config = make_config({"epochs": "3", "hidden": "12", "checkpoints": "4",
                          "probe_size": "128"})
    run_dir = train(config, logdir, "small", progress=False)
    analyze_run(run_dir, AnalysisSettings(shuffles=5))
    return logdir
