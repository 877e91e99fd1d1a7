"""The labelled public API: arrays in, xarray out.

``decompose`` / ``decompose_dataset`` take joint tables; ``decompose_samples`` /
``decompose_samples_dataset`` take samples and a binning. All four validate their input once,
compute in float64 with the torch engine (``_isx.py``; from samples ``_samples.py``) in
memory-bounded chunks of the batch, and label the result: dims (*batch, "atom"), the atom
coordinate holding labels such as "{1}{2}", values in bits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import xarray as xr

from inspector.errors import InfomorphError, choose_one
from inspector.pid import _isx, _samples
from inspector.pid._binning import Binning
from inspector.pid._lattice import MAX_SOURCES, lattice, source_names

ESTIMATORS = ("sparse", "dense")
MEASURE = "I_sx (shared exclusion; Makkeh, Gutknecht & Wibral, Phys. Rev. E 103, 032149, 2021)"
_CHUNK_ELEMENTS = 1 << 23

_DESCRIPTIONS = {
    "pid": "I^sx atom (partial information)",
    "pid_informative": "informative part of the atom (from i+)",
    "pid_misinformative": "misinformative part of the atom (from i-)",
    "redundancy": "I^sx redundancy of the antichain (sum of the atoms below it)",
    "entropy": "H(T)",
    "mutual_information": "I(T; S_1..S_n), the sum of all atoms",
    "residual_entropy": "H(T | S_1..S_n) = H(T) - I(T; S)",
    "source_information": "I(T; S_i)",
}


def _to_tensor(data, what: str, check_finite: bool = True
               ) -> tuple[torch.Tensor, tuple[str, ...] | None, dict]:
    """float64 tensor of ``data``, with the dims and coords when it is an xarray.DataArray."""
    dims, coords = None, {}
    if isinstance(data, xr.DataArray):
        dims = tuple(str(d) for d in data.dims)
        coords = {k: v for k, v in data.coords.items()}
        data = data.values
    if isinstance(data, torch.Tensor):
        tensor = data.detach().to(torch.float64)
    else:
        try:
            tensor = torch.from_numpy(np.array(data, dtype=np.float64))
        except (TypeError, ValueError) as err:
            raise InfomorphError(f"{what} must be numeric: {err}") from None
    if check_finite and not bool(torch.isfinite(tensor).all()):
        raise InfomorphError(f"{what} must be finite (found NaN or infinity)")
    return tensor, dims, coords


def _check_n_sources(n_sources) -> int:
    if isinstance(n_sources, bool) or not isinstance(n_sources, int | np.integer):
        raise InfomorphError(f"n_sources must be an integer, got {n_sources!r}")
    if not 1 <= n_sources <= MAX_SOURCES:
        raise InfomorphError(f"n_sources must be 1..{MAX_SOURCES}, got {n_sources}")
    return int(n_sources)


def _batch_dims(dims, n_batch: int) -> list[str]:
    return list(dims[:n_batch]) if dims is not None else [f"dim_{i}" for i in range(n_batch)]


def _chunked(fn, rows: int, per_row: int, *tensors: torch.Tensor):
    """Apply ``fn`` to row chunks of the flattened ``tensors`` and concatenate the fields."""
    step = max(1, _CHUNK_ELEMENTS // max(per_row, 1))
    parts = [fn(*(t[i : i + step] for t in tensors)) for i in range(0, max(rows, 1), step)]
    return type(parts[0])(*(torch.cat(field) for field in zip(*parts, strict=True)))


def _label(terms, batch_dims, batch_coords, names, extra_dims=(), extra_coords=None):
    lat = lattice(len(names))
    atom_dims = [*batch_dims, *extra_dims, "atom"]
    coords = {**batch_coords, **(extra_coords or {}), "atom": lat.labels(names)}
    data = {}
    for field in ("atoms", "informative", "misinformative"):
        key = {"atoms": "pid"}.get(field, f"pid_{field}")
        data[key] = (atom_dims, getattr(terms, field).cpu().numpy())
    if hasattr(terms, "redundancy"):
        data["redundancy"] = (atom_dims, terms.redundancy.cpu().numpy())
        for field in ("entropy", "mutual_information", "residual_entropy"):
            data[field] = (batch_dims, getattr(terms, field).cpu().numpy())
        data["source_information"] = (
            [*batch_dims, "source"],
            terms.source_information.cpu().numpy(),
        )
        coords["source"] = list(names)
    ds = xr.Dataset(data, coords=coords)
    for name, var in ds.data_vars.items():
        var.attrs.update(units="bits", long_name=_DESCRIPTIONS[name])
    return ds


def _as_dataarray(ds: xr.Dataset) -> xr.DataArray:
    keep = [k for k in ("entropy", "mutual_information", "residual_entropy", "probability",
                        "p_value", "pid_null_mean") if k in ds]
    da = ds["pid"].assign_coords({k: ds[k] for k in keep})
    da.attrs.update(ds.attrs)
    return da


# ----------------------------------------------------------------------------- tables


def decompose_dataset(pmf, n_sources: int, names: Sequence[str] | None = None,
                      pointwise: bool = False, threads: bool = True) -> xr.Dataset:
    """The full I^sx decomposition of joint tables as an ``xarray.Dataset`` (bits).

    Parameters
    ----------
    pmf : array-like, torch.Tensor or xarray.DataArray, shape (*batch, |S_1|, ..., |S_n|, |T|)
        Non-negative probabilities or counts; each batch element is normalised to sum to 1.
        A DataArray keeps its leading dims and coords; other inputs get dims "dim_0", ...
    n_sources : number of sources n (1..4).
    names : source names for the atom labels (default "1", "2", ...).
    pointwise : if True, the atom variables are per realisation, dims
        (*batch, <source names>..., "target", "atom"), 0 on realisations of probability 0,
        and a ``probability`` variable holds p(s, t).
    threads : split large batches into row blocks computed in worker threads (default;
        faster). Pass False in a process that goes on training afterwards: worker threads
        leave GNU OpenMP with more threads than cores, which slowed every later training
        step 1.5-1.8x (measured).

    Returns
    -------
    Dataset with ``pid``, ``pid_informative``, ``pid_misinformative`` and ``redundancy``
    (*batch, atom); ``entropy``, ``mutual_information``, ``residual_entropy`` (*batch);
    ``source_information`` (*batch, source). ``pid.sum("atom") == mutual_information`` and
    ``mutual_information + residual_entropy == entropy``.
    """
    n = _check_n_sources(n_sources)
    names = source_names(n, names)
    table, dims, coords = _to_tensor(pmf, "pmf")
    if table.dim() < n + 1:
        raise InfomorphError(
            f"pmf of {n} sources needs shape (*batch, |S_1|, ..., |S_{n}|, |T|): at least "
            f"{n + 1} axes, got shape {tuple(table.shape)}"
        )
    if 0 in table.shape:
        raise InfomorphError(f"pmf has an empty axis: shape {tuple(table.shape)}")
    if bool((table < 0).any()):
        raise InfomorphError("pmf entries must be >= 0")
    n_batch = table.dim() - n - 1
    batch_shape = table.shape[:n_batch]
    flat = table.reshape(-1, *table.shape[n_batch:])
    totals = flat.sum(dim=tuple(range(1, n + 2)))
    if bool((totals <= 0).any()):
        raise InfomorphError("pmf sums to 0; it needs some positive probability or count")
    flat = flat / totals.reshape(-1, *[1] * (n + 1))
    batch_dims = _batch_dims(dims, n_batch)
    clash = set(batch_dims) & {*names, "target", "atom", "source"}
    if pointwise and clash:
        raise InfomorphError(f"batch dims {sorted(clash)} clash with the pointwise dims")
    batch_coords = {k: v for k, v in coords.items() if set(v.dims) <= set(batch_dims)}
    per_row = flat[0].numel() * (2**n)
    terms = _chunked(lambda t: _isx.pid_from_pmf(t, n, threads), flat.shape[0], per_row, flat)
    terms = type(terms)(*(x.reshape((*batch_shape, *x.shape[1:])) for x in terms))
    ds = _label(terms, batch_dims, batch_coords, names)
    if pointwise:
        local = _chunked(lambda t: _isx.pointwise_from_pmf(t, n), flat.shape[0],
                         per_row * len(lattice(n)), flat)
        local = type(local)(*(x.reshape((*batch_shape, *x.shape[1:])) for x in local))
        real_dims = [*names, "target"]
        pw = _label(local, batch_dims, batch_coords, names, real_dims)
        ds = ds.drop_vars(["pid", "pid_informative", "pid_misinformative"]).merge(pw)
        ds["probability"] = ([*batch_dims, *real_dims],
                             flat.reshape(table.shape).cpu().numpy())
        ds["probability"].attrs["long_name"] = "p(s_1..s_n, t)"
    ds.attrs.update(measure=MEASURE, units="bits", n_sources=n, estimator="table")
    return ds


def decompose(pmf, n_sources: int, names: Sequence[str] | None = None,
              pointwise: bool = False, threads: bool = True) -> xr.DataArray:
    """I^sx atoms of joint tables: an ``xarray.DataArray`` with dims (*batch, "atom"), in bits.

    ``pmf`` has shape (*batch, |S_1|, ..., |S_n|, |T|) (see :func:`decompose_dataset`). The
    atom coordinate holds labels in lattice order ("{1}{2}", "{1}", "{2}", "{12}" for n = 2).
    H(T), I(T; S) and H_res are not atoms: they come as the non-index coordinates ``entropy``,
    ``mutual_information`` and ``residual_entropy`` (dims *batch). With ``pointwise=True`` the
    dims are (*batch, <source names>..., "target", "atom") and ``probability`` comes along.

    >>> import numpy as np
    >>> xor = np.zeros((2, 2, 2)); xor[0, 0, 0] = xor[0, 1, 1] = xor[1, 0, 1] = xor[1, 1, 0] = 1
    >>> decompose(xor, 2).round(6).values.tolist()
    [-0.584963, 0.584963, 0.584963, 0.415037]
    """
    return _as_dataarray(decompose_dataset(pmf, n_sources, names, pointwise, threads))


# ----------------------------------------------------------------------------- samples


def _target_distribution(target: torch.Tensor, is_integer: bool, states: int | None):
    """(*batch, sample) target -> (*batch, sample, T) distribution per sample."""
    if is_integer:
        codes = target.to(torch.int64)
        top = int(codes.max()) + 1 if codes.numel() else 1
        states = max(states or 0, top, 2)
        if codes.numel() and int(codes.min()) < 0:
            raise InfomorphError("integer target labels must be >= 0")
        return torch.nn.functional.one_hot(codes, states).to(torch.float64)
    if bool(((target < 0) | (target > 1)).any()):
        raise InfomorphError(
            "a float target is P(T = 1) of a binary target and must lie in [0, 1]; "
            "pass integer labels for a hard multi-state target"
        )
    return torch.stack([1 - target, target], -1)


def decompose_samples_dataset(
    sources,
    target,
    *,
    binning: Binning | str = "fixed",
    names: Sequence[str] | None = None,
    estimator: str = "sparse",
    pointwise: bool = False,
    threads: bool = True,
    shuffles: int = 0,
    rng: np.random.Generator | int | None = None,
) -> xr.Dataset:
    """The I^sx decomposition estimated from samples, as an ``xarray.Dataset`` (bits).

    Parameters
    ----------
    sources : (*batch, sample, source) source values (a DataArray keeps its batch dims).
    target : (*batch, sample). Floats in [0, 1] are a soft binary target, P(T = 1) of each
        sample (the neuron's firing probability theta; 0/1 floats are hard binary labels).
        Integer or bool arrays are hard labels 0 .. T-1.
    binning : a :class:`Binning`, or a method name with its defaults (``fixed``: 20 bins on
        [-20, 20]; ``maxnorm``; ``quantile``; ``discrete``).
    estimator : "sparse" (only occupied cells; cost grows with samples) or "dense" (the full
        bins**n table). Both give the same numbers.
    pointwise : if True, atom variables are per sample and target state, dims
        (*batch, "sample", "target", "atom"), and ``weight`` holds p(sample, t) = q_i(t) / B.
    threads : split large batches into row blocks computed in worker threads (default;
        faster). Pass False in a process that goes on training afterwards: worker threads
        leave GNU OpenMP with more threads than cores, which slowed every later training
        step 1.5-1.8x (measured).
    shuffles : K > 0 adds the shuffle null: the atoms again with the target permuted against
        the sources within each batch element's samples, K times. ``p_value`` (*batch,
        atom) = (1 + #{|null atom| >= |atom|}) / (1 + K), and ``pid_null_mean`` (*batch,
        atom), the atoms' mean under the null: the plug-in bias at this sample size and
        binning, in bits. The binning and the cells are the data's; only the target moves.
    rng : the permutations' source, a ``numpy.random.Generator`` or a seed (default: fresh
        entropy). A generator is advanced: pass the same seed for the same p values.

    The joint table estimated is p(s, t) = (1/B) sum_i 1{bin(s_i) = s} q_i(t): hard in the
    sources, soft (or one-hot) in the target, as in training. Plug-in estimates are biased
    upwards when there are few samples per occupied cell: report samples and bins with them.
    """
    if isinstance(binning, str):
        binning = Binning(binning)
    if not isinstance(binning, Binning):
        raise InfomorphError(f"binning must be a Binning or a method name, got {binning!r}")
    if estimator not in ESTIMATORS:
        raise choose_one("estimator", estimator, ESTIMATORS)
    if isinstance(shuffles, bool) or not isinstance(shuffles, int | np.integer) or shuffles < 0:
        raise InfomorphError(f"shuffles must be an integer >= 0, got {shuffles!r}")
    if shuffles and pointwise:
        raise InfomorphError("the shuffle null is of the averaged atoms: pass pointwise=False")
    # Binning.codes rejects non-finite sources itself: one pass over them, not two.
    values, dims, coords = _to_tensor(sources, "sources", check_finite=False)
    raw_target = target.values if isinstance(target, xr.DataArray) else target
    is_integer = (
        raw_target.dtype in (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32,
                             torch.int64)
        if isinstance(raw_target, torch.Tensor)
        else np.asarray(raw_target).dtype.kind in "biu"
    )
    theta, _, _ = _to_tensor(raw_target, "target")
    if values.dim() < 2:
        raise InfomorphError(
            f"sources must have shape (*batch, sample, source), got {tuple(values.shape)}"
        )
    if tuple(theta.shape) != tuple(values.shape[:-1]):
        raise InfomorphError(
            f"target must have shape (*batch, sample) = {tuple(values.shape[:-1])}, "
            f"got {tuple(theta.shape)}"
        )
    n = _check_n_sources(values.shape[-1])
    names = source_names(n, names)
    if values.shape[-2] == 0:
        raise InfomorphError("no samples: the sample axis is empty")
    q = _target_distribution(theta, is_integer, None)
    codes = binning.codes(values)
    n_batch = values.dim() - 2
    batch_shape = values.shape[:n_batch]
    batch_dims = _batch_dims(dims, n_batch)
    batch_coords = {k: v for k, v in coords.items() if set(v.dims) <= set(batch_dims)}
    flat_codes = codes.reshape(-1, *codes.shape[-2:])
    flat_q = q.reshape(-1, *q.shape[-2:])
    n_bins = [binning.bins] * n
    samples, t_size = q.shape[-2:]
    if estimator == "sparse":
        per_row = samples * t_size * 2**n

        def estimate(c, t):
            return _samples.pid_from_samples(c, t, n_bins, threads)
    else:
        per_row = binning.bins**n * t_size * 2**n

        def estimate(c, t):
            return _isx.pid_from_pmf(_samples.pmf_from_samples(c, t, n_bins), n, threads)
    terms = _chunked(estimate, flat_q.shape[0], per_row, flat_codes, flat_q)
    null = (_shuffle_null(estimate, per_row, flat_codes, flat_q, terms.atoms, shuffles,
                          _generator(rng)) if shuffles else None)
    terms = type(terms)(*(x.reshape((*batch_shape, *x.shape[1:])) for x in terms))
    ds = _label(terms, batch_dims, batch_coords, names)
    if null is not None:
        atom_dims = [*batch_dims, "atom"]
        p_value, null_mean = (x.reshape(ds.pid.shape) for x in null)
        ds["p_value"] = (atom_dims, p_value)
        ds["p_value"].attrs["long_name"] = (
            f"shuffle-null p value ({shuffles} shuffles of the target within the samples)")
        ds["pid_null_mean"] = (atom_dims, null_mean)
        ds["pid_null_mean"].attrs.update(
            units="bits", long_name=f"mean atom over the {shuffles} shuffles of the shuffle "
            "null (the estimation bias)")
    if pointwise:
        local = _chunked(lambda c, t: _samples.pointwise_from_samples(c, t, n_bins),
                         flat_q.shape[0], samples * t_size * len(lattice(n)), flat_codes,
                         flat_q)
        local = type(local)(*(x.reshape((*batch_shape, *x.shape[1:])) for x in local))
        pw = _label(local, batch_dims, batch_coords, names, ["sample", "target"])
        ds = ds.drop_vars(["pid", "pid_informative", "pid_misinformative"]).merge(pw)
        ds["probability"] = ([*batch_dims, "sample", "target"], (q / samples).cpu().numpy())
        ds["probability"].attrs["long_name"] = "q_i(t) / B, the weight of (sample i, t)"
    ds.attrs.update(
        measure=MEASURE, units="bits", n_sources=n, estimator=estimator,
        binning=binning.method, bins=binning.bins, n_samples=samples,
    )
    if binning.method == "fixed":
        ds.attrs["value_range"] = list(binning.value_range)
    if shuffles:
        ds.attrs["shuffles"] = int(shuffles)
    return ds


def _generator(rng) -> np.random.Generator:
    """``rng`` as a numpy Generator: itself, or one seeded with it."""
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError):
        raise InfomorphError(f"rng must be a numpy Generator or a seed >= 0, got {rng!r}"
                             ) from None


def _shuffle_null(estimate, per_row: int, codes: torch.Tensor, q: torch.Tensor,
                  observed: torch.Tensor, shuffles: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The shuffle null of ``observed`` atoms (R, A), bits: ``codes`` (R, B, n) stay, each
    row's target distributions ``q`` (R, B, T) are permuted over its B samples ``shuffles``
    times. Returns p values and null means, (R, A) each.

    The sources are binned once, and as many shuffles as fit one memory chunk go through the
    estimator as one batch of rows (a labelled call per shuffle paid the binning, the tensor
    conversions and the labelling each time: 2.4x slower on 100 neurons x 359 samples, 5x
    on a 10-neuron readout, 1.3x at 2048 samples; bench/shuffle_null.py). Permutations are
    drawn one shuffle at a time, as ``argsort(rng.random((R, B)))``: the same p values for a
    seed however they are batched.
    """
    rows, samples = codes.shape[:2]
    per_batch = max(1, _CHUNK_ELEMENTS // max(rows * per_row, 1))
    magnitude = observed.abs().cpu().numpy() - 1e-12  # ties count as at least as large
    hits = np.zeros(observed.shape)
    total = np.zeros(observed.shape)
    done = 0
    while done < shuffles:
        k = min(per_batch, shuffles - done)
        order = torch.as_tensor(np.stack([np.argsort(rng.random((rows, samples)), axis=1)
                                          for _ in range(k)]), device=q.device)
        moved = torch.take_along_dim(q.expand(k, *q.shape), order.unsqueeze(-1), dim=2)
        null = _chunked(estimate, k * rows, per_row,
                        codes.expand(k, *codes.shape).reshape(k * rows, *codes.shape[1:]),
                        moved.reshape(k * rows, *q.shape[1:])).atoms
        null = null.reshape(k, *observed.shape).cpu().numpy()
        hits += (np.abs(null) >= magnitude).sum(0)
        total += null.sum(0)
        done += k
    return (1 + hits) / (1 + shuffles), total / shuffles


def decompose_samples(
    sources,
    target,
    *,
    binning: Binning | str = "fixed",
    names: Sequence[str] | None = None,
    estimator: str = "sparse",
    pointwise: bool = False,
    threads: bool = True,
    shuffles: int = 0,
    rng: np.random.Generator | int | None = None,
) -> xr.DataArray:
    """I^sx atoms estimated from samples: DataArray (*batch, "atom") in bits.

    Arguments as :func:`decompose_samples_dataset`; ``entropy``, ``mutual_information`` and
    ``residual_entropy`` come as non-index coordinates, and with ``shuffles`` so do
    ``p_value`` and ``pid_null_mean`` (*batch, atom).
    """
    return _as_dataarray(
        decompose_samples_dataset(sources, target, binning=binning, names=names,
                                  estimator=estimator, pointwise=pointwise, threads=threads,
                                  shuffles=shuffles, rng=rng)
    )
