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
