"""Turning what navis users hold into runner inputs, without pyarrow.

navis Dotprops (one, a NeuronList or a list of them) and DataFrames in
navis' Parquet layout are written as NumPy .npz archives (numpy.savez:
ids, offsets, points, vectors, alpha, units), which a local scoring run
reads as they are; for a remote runner `runner dotprops` converts them,
vectors kept, into one dotprops Parquet file at the stage. Paths (a
Parquet file, glob or directory, local or gs://) go to the runner as they
are.
"""

import glob
import os

import numpy as np

# Neurons per .npz part are cut at about this many points, so that neither
# side holds a whole large NeuronList twice (Go reads a part at a time).
PART_POINTS = 4_000_000

_DF_COLUMNS = ("x", "y", "z", "vect_x", "vect_y", "vect_z", "neuron")


class Side:
    """One side (queries or targets) of a run.

    spec: what the runner reads (--queries/--targets): a Parquet (or .npz)
      path, glob or directory; for neurons written here, npz_dir, the
      directory of their .npz parts (or, for a remote runner, the Parquet
      file `runner dotprops` makes of them).
    ids: the neuron ids in input order, as the runner reports them (int or
      str), or None when not known here (a path given).
    original: {runner id: the user's id} when the user's ids are not all
      int64 or all str (e.g. navis' default UUIDs), else None.
    """

    def __init__(self, role):
        self.role = role
        self.spec = None
        self.ids = None
        self.original = None
        self.npz_dir = None
        self.neurons = 0
        self.points = 0

    def label(self, ids):
        """The user's ids for runner ids."""
        if self.original is None:
            return list(ids)
        return [self.original[i] for i in ids]


def _is_path(x):
    return isinstance(x, (str, os.PathLike))


def _is_dotprops(x):
    # By class name, so that navis is not imported here (a NeuronList
    # proxies its neurons' attributes: attributes do not tell).
    return any(c.__name__ == "Dotprops" for c in type(x).__mro__)


def _neurons_of(x, role):
    """The list of neurons in x (a Dotprops, a NeuronList or a list)."""
    if _is_dotprops(x):
        return [x]
    if type(x).__name__ == "NeuronList" or isinstance(x, (list, tuple)):
        neurons = list(x)
        if not neurons:
            raise ValueError("%s: no neurons (an empty %s)" % (role, type(x).__name__))
        for i, n in enumerate(neurons):
            if not _is_dotprops(n):
                raise TypeError("%s must be Dotprops, got %s at index %d (id %r): make dotprops with navis.make_dotprops(x, k=...)"
                                % (role, type(n).__name__, i, getattr(n, "id", None)))
        return neurons
    hint = ": make dotprops with navis.make_dotprops(x, k=...)" if hasattr(x, "id") else ""
    raise TypeError("%s: want navis Dotprops, a NeuronList of them, a DataFrame in navis' Parquet layout (%s) or the "
                    "path of dotprops Parquet files (a file, glob or directory, local or gs://); got %s%s"
                    % (role, ", ".join(_DF_COLUMNS), type(x).__name__, hint))


def _ids_for_runner(ids, role):
    """(runner ids as a numpy array, {runner id: user id} or None)."""
    seen, dups = set(), []
    for v in ids:
        key = (type(v), v) if isinstance(v, (int, np.integer, str)) else v
        if key in seen:
            dups.append(v)
        seen.add(key)
    if dups:
        raise ValueError("%s have non-unique IDs: %s (every neuron needs its own id, as in navis)" % (role.capitalize(), dups[:5]))

    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and -2**63 <= int(v) < 2**63

    if all(is_int(v) for v in ids):
        return np.array([int(v) for v in ids], dtype=np.int64), None
    if all(isinstance(v, str) for v in ids):
        strs = [str(v) for v in ids]
        _check_strs(strs, role)
        return np.array(strs, dtype=str), None
    # Mixed or other ids (navis' default UUIDs): their str() goes to the
    # runner, and results are labelled with the user's objects again.
    strs = [str(v) for v in ids]
    if len(set(strs)) != len(strs):
        raise ValueError("%s: the ids are neither all integers nor all strings, and their str() forms collide "
                         "(e.g. 1 and '1'): give the neurons distinct ids of one type" % role)
    _check_strs(strs, role)
    return np.array(strs, dtype=str), dict(zip(strs, ids))


def _check_strs(strs, role):
    for i, s in enumerate(strs):
        if s == "":
            raise ValueError("%s: the neuron at index %d has an empty id" % (role, i))
        if "\x00" in s:
            raise ValueError("%s: the id of the neuron at index %d contains a NUL character" % (role, i))


def _units(n):
    u = getattr(n, "_unit_str", None)
    if u is None:
        return ""
    if isinstance(u, str):
        return u
    u = list(u)
    if len(set(map(str, u))) == 1:
        return str(u[0])
    raise ValueError("neuron %r has anisotropic units %s: NBLAST needs one unit for x, y and z; convert it to microns "
                     "(n.convert_units('um'))" % (n.id, u))


def _float(arrays):
    """One array of all: float32 if they all are, else float64."""
    a = np.concatenate(arrays)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    return np.ascontiguousarray(a)


def _write_part(path, ids, counts, points, vectors, alpha, units):
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    arrays = dict(ids=ids, offsets=offsets, points=_float(points), vectors=_float(vectors))
    if alpha is not None:
        arrays["alpha"] = _float(alpha)
    if units is not None:
        arrays["units"] = np.array(units, dtype=str)
    np.savez(path, **arrays)  # uncompressed: the runner reads it at disk speed


def _write_neurons(neurons, side, use_alpha):
    """Writes Dotprops as .npz parts in side.npz_dir."""
    role = side.role
    ids, side.original = _ids_for_runner([n.id for n in neurons], role)
    side.ids = list(ids.tolist()) if ids.dtype.kind == "i" else [str(v) for v in ids]
    if use_alpha and any(getattr(n, "alpha", None) is None for n in neurons):
        bad = [n.id for n in neurons if getattr(n, "alpha", None) is None][:5]
        raise ValueError("use_alpha=True, but %s neurons %s have no alpha: make them with navis.make_dotprops (which "
                         "computes alpha), or use_alpha=False" % (role, bad))
    units = [_units(n) for n in neurons]
    keep_units = any(units)
    part, start = 0, 0
    counts, pts, vecs, alps = [], [], [], []
    n_points = 0

    def flush(end):
        nonlocal part, start, counts, pts, vecs, alps, n_points
        if not counts:
            return
        _write_part(os.path.join(side.npz_dir, "part-%05d.npz" % part), ids[start:end], counts, pts, vecs,
                    alps, units[start:end] if keep_units else None)
        part, start = part + 1, end
        counts, pts, vecs, alps, n_points = [], [], [], [], 0

    for i, n in enumerate(neurons):
        p = np.asarray(n.points)
        v = getattr(n, "vect", None)
        if p.ndim != 2 or p.shape[1] != 3 or len(p) == 0:
            raise ValueError("Some %s dotprops appear to have no points: %r (shape %s)" % (role, n.id, p.shape))
        if v is None:
            raise ValueError("%s neuron %r has no tangent vectors (vect): make it with navis.make_dotprops" % (role, n.id))
        v = np.asarray(v)
        if v.shape != p.shape:
            raise ValueError("%s neuron %r: %d points but vect of shape %s" % (role, n.id, len(p), v.shape))
        counts.append(len(p))
        pts.append(p)
        vecs.append(v)
        a = getattr(n, "alpha", None)
        if a is None:
            # Only without use_alpha (checked above), where alpha is not
            # read: the Parquet layout wants a value per point.
            a = np.zeros(len(p), dtype=p.dtype)
        a = np.asarray(a).reshape(-1)
        if len(a) != len(p):
            raise ValueError("%s neuron %r: %d points but %d alpha values" % (role, n.id, len(p), len(a)))
        alps.append(a)
        n_points += len(p)
        side.points += len(p)
        if n_points >= PART_POINTS:
            flush(i + 1)
    flush(len(neurons))
    side.neurons = len(neurons)


def _write_frame(df, side, use_alpha):
    """Writes a DataFrame in navis' dotprops Parquet layout as .npz parts."""
    import pandas as pd
    missing = [c for c in _DF_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError("%s: the DataFrame lacks column(s) %s: want navis' dotprops Parquet layout: %s and optionally "
                         "alpha (one row per point)" % (side.role, ", ".join(missing), ", ".join(_DF_COLUMNS)))
    if use_alpha and "alpha" not in df.columns:
        raise ValueError("use_alpha=True, but the %s DataFrame has no alpha column" % side.role)
    codes, uniq = pd.factorize(df["neuron"], sort=False)
    if (codes < 0).any():
        raise ValueError("%s: the neuron column has missing values (row %d)" % (side.role, int(np.argmax(codes < 0))))
    order = np.argsort(codes, kind="stable")  # rows of a neuron together, neurons in order of first appearance
    counts = np.bincount(codes, minlength=len(uniq))
    ids, side.original = _ids_for_runner(list(uniq), side.role)
    side.ids = list(ids.tolist()) if ids.dtype.kind == "i" else [str(v) for v in ids]
    cols = lambda names: np.ascontiguousarray(df[list(names)].to_numpy()[order])
    alpha = df["alpha"].to_numpy()[order] if "alpha" in df.columns else np.zeros(len(df))
    _write_part(os.path.join(side.npz_dir, "part-00000.npz"), ids, counts, [cols("xyz")], [cols(("vect_x", "vect_y", "vect_z"))],
                [alpha], None)
    side.neurons, side.points = len(uniq), len(df)


def prepare(x, role, stage, use_alpha):
    """A Side for x; neurons are written as .npz parts under stage/role/,
    which a local run reads as they are (spec; a remote run's caller
    converts them to Parquet and sets spec to it)."""
    side = Side(role)
    if _is_path(x):
        side.spec = os.fspath(x)  # Parquet or .npz files, read by the runner
        return side
    side.npz_dir = os.path.join(stage, role)
    os.makedirs(side.npz_dir, exist_ok=True)
    side.spec = side.npz_dir
    if type(x).__name__ == "DataFrame":
        _write_frame(x, side, use_alpha)
    else:
        _write_neurons(_neurons_of(x, role), side, use_alpha)
    return side


# --- ids of Parquet inputs (for complete sparse indexes), stdlib only ----

def parquet_ids(spec):
    """The neuron ids of local dotprops Parquet files, in file order, from
    their "<id>:id" metadata (navis.write_parquet and this project write
    it): a list of int or str, or None when not known (gs://, no such
    metadata)."""
    import nblast_results as nr
    if "://" in spec:
        return None
    if os.path.isdir(spec):
        paths = sorted(p for p in glob.glob(os.path.join(spec, "*.parquet"))
                       if not os.path.basename(p).startswith((".", "_")))
    elif glob.has_magic(spec):
        paths = sorted(glob.glob(spec))
    else:
        paths = [spec]
    out, seen = [], set()
    for p in paths:
        try:
            kv, types = nr.parquet_key_values(p), nr.parquet_column_types(p)
        except (OSError, nr.OutputError):
            return None
        ids = [v for k, v in kv if k.endswith(":id") and not k.startswith("_")]
        if not ids:
            return None
        as_int = types.get("neuron") == "INT64"
        for v in ids:
            v = int(v) if as_int else v
            if v not in seen:
                seen.add(v)
                out.append(v)
    return out
