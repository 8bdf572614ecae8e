"""nblast_disk, nblast_sparse, nblast_knn: navis-style calls that run the runner."""

import hashlib
import math
import numbers
import os
import shutil
import tempfile

import numpy as np

from . import _inputs
from ._run import NblastError, find_runner, run

_UNSET = object()
_LOCAL = (None, "", "prism", "direct")
_SCORES = ("forward", "mean", "min", "max", "both")
_PRECISION = {16: "float16", 32: "float32", 64: "float64"}


def _dtype(precision):
    """navis' precision (16, 32, 64, "float32", a numpy dtype) as --dtype."""
    if isinstance(precision, numbers.Integral) and not isinstance(precision, bool):
        if int(precision) in _PRECISION:
            return _PRECISION[int(precision)]
    else:
        try:
            dt = np.dtype(precision)
        except TypeError:
            dt = None
        if dt is not None and dt.kind == "f" and dt.itemsize * 8 in _PRECISION:
            return _PRECISION[dt.itemsize * 8]
    raise ValueError("precision %r: want 16, 32 or 64 (or 'float16', 'float32', 'float64', a numpy float dtype)" % (precision,))


def _bool(v):
    return "true" if v else "false"


def _smat_args(smat):
    if isinstance(smat, str) and smat in ("auto", "fcwb"):
        return []
    if isinstance(smat, (str, os.PathLike)):
        p = os.fspath(smat)
        if "://" not in p and not os.path.isfile(p):
            raise ValueError("smat %r: no such file: want 'auto' (FCWB), the path of a CSV in navis' layout, or a DataFrame" % p)
        return ["--smat", p]
    if type(smat).__name__ == "DataFrame":
        # navis' layout, as navis reads its own matrices (pd.read_csv(f, index_col=0)).
        text = smat.to_csv().encode("utf-8")
        # Named by its content: a resumed run sees the same --smat.
        p = os.path.join(tempfile.gettempdir(), "nblast_go-smat-%s.csv" % hashlib.sha256(text).hexdigest()[:16])
        if not os.path.exists(p):
            tmp = p + ".%d.tmp" % os.getpid()
            with open(tmp, "wb") as f:
                f.write(text)
            os.replace(tmp, p)
        return ["--smat", p]
    raise ValueError("smat %r: nblast_go scores with a lookup table: 'auto' (FCWB, navis' default), the path of a CSV "
                     "in navis' layout, or a DataFrame of one (navis' smat=None, 'v1' and callables are not supported)" % (smat,))


def _max_dist_args(limit_dist, smart):
    if limit_dist is _UNSET:
        limit_dist = "auto" if smart else None  # as nblast_smart / nblast
    if limit_dist is None:
        return ["--max_dist", "none"] if smart else []
    if isinstance(limit_dist, str):
        if limit_dist != "auto":
            raise ValueError("limit_dist %r: want None, 'auto' or a distance in µm" % limit_dist)
        return ["--max_dist", "auto"]
    if isinstance(limit_dist, numbers.Real) and not isinstance(limit_dist, bool) and limit_dist > 0 and math.isfinite(limit_dist):
        return ["--max_dist", repr(float(limit_dist))]
    raise ValueError("limit_dist %r: want None, 'auto' or a positive distance in µm" % (limit_dist,))


def _beam_args(beam_options):
    args = []
    for k, v in (beam_options or {}).items():
        k = str(k).lstrip("-")
        if isinstance(v, bool):
            v = _bool(v)
        args.append("--%s=%s" % (k, v))
    return args


class _Job:
    """The parts of a call every function shares: inputs, options, staging."""

    def __init__(self, query, target, queries, targets, kw):
        if queries is not None:
            if query is not None:
                raise TypeError("give query or queries, not both")
            query = queries
        if targets is not None:
            if target is not None:
                raise TypeError("give target or targets, not both")
            target = targets
        if query is None:
            raise TypeError("missing the query neurons (navis Dotprops, a NeuronList, a DataFrame or Parquet path)")
        self.query, self.target, self.kw = query, target, kw
        self.exe = find_runner(kw["runner"])
        self.beam = dict(kw["beam_options"] or {})
        self.remote = self.beam.get("runner") not in _LOCAL
        self.env = {}
        if kw["n_cores"] is not None:
            if not isinstance(kw["n_cores"], numbers.Integral) or kw["n_cores"] < 1:
                raise TypeError("`n_cores` must be an integer > 0")
            self.env["GOMAXPROCS"] = str(int(kw["n_cores"]))
        self.tmp = None
        self.stage = kw["stage"]
        if kw["approx_nn"]:
            raise ValueError("approx_nn=True: nblast_go's scores are exact (for speed: limit_dist='auto', smart=True, "
                             "or nblast_sparse / nblast_knn, which skip pairs that cannot reach the threshold or the k-th best)")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def tempdir(self):
        if self.tmp is None:
            self.tmp = tempfile.mkdtemp(prefix="nblast_go-")
        return self.tmp

    def prepare(self):
        """Writes the neurons (if any) as .npz parts. A local run reads them
        as they are; for a remote runner they become Parquet at `stage`
        (`runner dotprops`), where the workers can read them."""
        kw = self.kw
        units_args = []
        if kw["units"] is not None:
            units_args += ["--units", str(kw["units"])]
        if kw["scale"] is not None:
            units_args += ["--scale", repr(float(kw["scale"]))]
        sides = [("queries", self.query)] + ([("targets", self.target)] if self.target is not None else [])
        self.sides = {}
        for role, x in sides:
            if role == "targets" and x is self.query:
                self.sides[role] = self.sides["queries"]  # navis.nblast(x, x): one file, the diagonal scored
                continue
            self.sides[role] = _inputs.prepare(x, role, self.tempdir(), kw["use_alpha"])
        # The scoring run reads Parquet paths and local .npz parts with
        # units/scale.
        self.scoring_units = units_args
        written = [s for s in self.sides.values() if s.npz_dir is not None]
        if not written or not self.remote:
            return
        if self.stage is None:
            raise ValueError("with beam_options runner=%r the workers read the neurons from where they can: give "
                             "stage='gs://bucket/prefix' (the Parquet the neurons become is written there), or "
                             "pass Parquet paths" % self.beam.get("runner"))
        if units_args and len(written) < len(self.sides):
            raise ValueError("units/scale with both neurons and Parquet paths on a remote runner: convert the neurons "
                             "to µm (n.convert_units('um')) or give both sides the same way")
        done = set()
        for s in written:
            if id(s) in done:
                continue
            done.add(id(s))
            s.spec = os.path.join(self.stage, s.role + ".parquet") if "://" not in self.stage else self.stage.rstrip("/") + "/" + s.role + ".parquet"
            args = ["dotprops", "--in", s.npz_dir, "--out", s.spec, "--progress", "json" if kw["progress"] else "none"] + units_args
            if kw["n_cores"] is not None:
                args += ["--workers", str(int(kw["n_cores"]))]
            run(self.exe, args, progress=kw["progress"], env=self.env, total_hint=s.neurons or None)
        if len(written) == len(self.sides):
            self.scoring_units = []  # the Parquet written is in µm

    def args(self, out, sink_args):
        kw = self.kw
        scores = kw["scores"]
        if scores not in _SCORES:
            raise ValueError("scores %r: want one of %s" % (scores, ", ".join(_SCORES)))
        a = ["--queries", self.sides["queries"].spec]
        if "targets" in self.sides:
            a += ["--targets", self.sides["targets"].spec]
        a += ["--out", out, "--scores", scores, "--normalized=" + _bool(kw["normalized"]),
              "--use_alpha=" + _bool(kw["use_alpha"]), "--dtype", _dtype(kw["precision"]),
              "--exists", kw["exists"], "--progress", "json" if kw["progress"] else "none"]
        a += _smat_args(kw["smat"]) + _max_dist_args(kw["limit_dist"], kw["smart"]) + self.scoring_units
        if kw["smart"]:
            if kw["criterion"] not in ("percentile", "score", "N"):
                raise ValueError("criterion %r: want 'percentile', 'score' or 'N' (as navis.nblast_smart)" % (kw["criterion"],))
            a += ["--smart", "--smart_criterion", kw["criterion"], "--smart_t", repr(float(kw["t"]))]
        if kw["block_size"] is not None:
            a += ["--block_size", str(int(kw["block_size"]))]
        if kw["memory"] is not None:
            a += ["--memory", str(kw["memory"])]
        return a + sink_args + _beam_args(self.beam)

    def score(self, out, sink_args):
        self.prepare()
        return run(self.exe, self.args(out, sink_args), progress=self.kw["progress"], env=self.env)

    def labels(self, role, ids):
        side = self.sides.get(role) or self.sides["queries"]
        return side.label(ids)


def _exists(exists, exists_ok):
    if exists_ok is not None:  # navis-nblast-large's name
        exists = {False: "fail", True: "overwrite", "resume": "resume"}.get(exists_ok)
        if exists is None:
            raise ValueError("exists_ok %r: want False, True or 'resume'" % (exists_ok,))
    if exists not in ("fail", "overwrite", "resume", "update"):
        raise ValueError("exists %r: want 'fail', 'overwrite', 'resume' or 'update' (score only the pairs of new "
                         "or changed neurons against the earlier out)" % (exists,))
    return exists


def _options(exists, exists_ok, precision, dtype, t, smart_t, criterion, smart_crit, **kw):
    kw["exists"] = _exists(exists, exists_ok)
    kw["precision"] = dtype if dtype is not None else precision
    kw["t"] = smart_t if smart_t is not None else t
    kw["criterion"] = smart_crit if smart_crit is not None else criterion
    return kw


def _index(ids, name):
    import pandas as pd
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in ids):
        ix = pd.Index(np.asarray(ids, dtype=np.int64), name=name)
    else:
        ix = pd.Index(list(ids), dtype=object, name=name)
    return ix


def _zarr_ids(z, key):
    return [v if isinstance(v, int) else str(v) for v in z.attrs[key]]


def _dask_frame(z, qlabels, tlabels):
    """A Dask DataFrame over a Zarr array: one partition per row of chunks,
    index = query ids, columns = target ids; nothing is read until computed."""
    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd
    arr = da.from_zarr(z)
    columns = _index(tlabels, "target")
    qix = _index(qlabels, "query")
    df = dd.from_dask_array(arr, columns=list(range(len(columns))))  # positions; labels set per partition

    def label(part, qix=qix, columns=columns):
        part = part.copy(deep=False)
        part.index = qix[part.index.to_numpy()]
        part.columns = columns
        return part

    meta = pd.DataFrame(np.empty((0, len(columns)), dtype=z.dtype), index=qix[:0], columns=columns)
    return df.map_partitions(label, meta=meta).clear_divisions()


def nblast_disk(query=None, target=None, out=None, *, return_frame=False, exists="fail",
                scores="forward", normalized=True, use_alpha=False, smat="auto", limit_dist=_UNSET,
                precision=32, n_cores=None, progress=True,
                smart=False, t=90, criterion="percentile", return_mask=False, approx_nn=False,
                units=None, scale=None, block_size=None, memory=None,
                runner=None, beam_options=None, stage=None,
                queries=None, targets=None, exists_ok=None, dtype=None, smart_crit=None, smart_t=None):
    """NBLAST query against target neurons into a Zarr array on disk.

    The navis-nblast-large call: `nblast_disk(queries, targets,
    out="./nblast_results", return_frame=True)`. Runs the runner's scoring
    job (dense Zarr sink) and returns the Zarr array OUT/scores
    (zarr.Array: .attrs["queries"] / ["targets"] are the row / column ids),
    or with return_frame=True a Dask DataFrame over it (index = query ids,
    columns = target ids, one partition per row of chunks; rows and columns
    in the array's order, the run's plan order: use .loc / .reindex for
    navis' order). With smart=True and return_mask=True: (scores, mask).
    With scores='both': (OUT/scores, OUT/scores_reverse) arrays.

    query, target: navis Dotprops, a NeuronList of them, a DataFrame in
      navis' dotprops Parquet layout, or the path of dotprops Parquet files
      (a file, glob or directory, local or gs://); `queries` / `targets`
      are accepted too. target=None: all-by-all as navis.nblast_allbyall
      (diagonal 1); target=query (the same object): navis.nblast(x, x).
    out: the output directory (local, or gs:// with a remote runner).
    exists: 'fail' (default), 'overwrite', 'resume' (finish an
      interrupted run; navis-nblast-large's exists_ok=False/True/'resume'
      is accepted) or 'update' (score only the pairs of new or changed
      neurons against the earlier OUT; the array keeps the earlier order
      of the neurons still there and appends the new ones, as its attrs
      "queries" / "targets" say).
    scores, normalized, use_alpha, smat, limit_dist, approx_nn, n_cores,
      progress: as navis.nblast (smat: 'auto', a CSV path or a DataFrame in
      navis' layout; approx_nn must be False; n_cores: default all cores).
    precision: 16, 32 (default, as navis-nblast-large's dtype) or 64
      (navis' default).
    smart, t, criterion, return_mask: smart=True is navis.nblast_smart(t=t,
      criterion=criterion) (limit_dist defaults to 'auto' as there).
    units / scale: coordinates' units when they are not µm (converted).
    block_size, memory: the runner's --block_size, --memory.
    runner: the runner binary (default: $NBLAST_RUNNER, `runner` on PATH,
      or built in this checkout). beam_options: further runner flags as a
      dict, e.g. {"runner": "dataflow", "project": ..., "region": ...};
      stage: where neurons converted to Parquet are written (default: a
      temporary local directory; a gs:// prefix for a remote runner).

    Raises NblastError with the runner's first error line; Ctrl-C stops
    the runner, leaves OUT resumable (exists='resume') and raises
    KeyboardInterrupt.
    """
    if out is None:
        raise ValueError("nblast_disk needs out=: the directory where the Zarr array is written")
    if return_frame and scores == "both":
        raise ValueError("scores='both' writes two arrays: read OUT/scores and OUT/scores_reverse (return_frame=False returns both)")
    kw = _options(exists, exists_ok, precision, dtype, t, smart_t, criterion, smart_crit,
                  scores=scores, normalized=normalized, use_alpha=use_alpha, smat=smat, limit_dist=limit_dist,
                  n_cores=n_cores, progress=progress, smart=smart, approx_nn=approx_nn, units=units, scale=scale,
                  block_size=block_size, memory=memory, runner=runner, beam_options=beam_options, stage=stage)
    out = os.fspath(out)
    with _Job(query, target, queries, targets, kw) as job:
        job.score(out, [])
        labels = job.labels
    import zarr
    names = ["scores", "scores_reverse"] if scores == "both" else ["scores"]
    arrays = [zarr.open_array(out.rstrip("/") + "/" + n, mode="r") for n in names]
    if scores == "both":
        return tuple(arrays)
    z = arrays[0]
    mask = zarr.open_array(out.rstrip("/") + "/smart_mask", mode="r") if smart and return_mask else None
    if return_frame:
        ql, tl = labels("queries", _zarr_ids(z, "queries")), labels("targets", _zarr_ids(z, "targets"))
        res = _dask_frame(z, ql, tl)
        if mask is not None:
            return res, _dask_frame(mask, ql, tl)
        return res
    return (z, mask) if mask is not None else z


def _long_result(job, out, what):
    import nblast_results as nr
    return nr.read(out, what=what, runner=job.exe)


def _order(job, role, found):
    """Ids in input order when known (all of them), else as found."""
    side = job.sides.get(role) or job.sides["queries"]
    ids = side.ids
    if ids is None:
        ids = _inputs.parquet_ids(side.spec)
    if ids is None:
        return list(dict.fromkeys(found))
    return ids


def nblast_sparse(query=None, target=None, threshold=0, *, out=None, exists="fail",
                  scores="forward", normalized=True, use_alpha=False, smat="auto", limit_dist=_UNSET,
                  precision=32, n_cores=None, progress=True, return_scipy=False,
                  smart=False, t=90, criterion="percentile", approx_nn=False,
                  units=None, scale=None, block_size=None, memory=None,
                  runner=None, beam_options=None, stage=None,
                  queries=None, targets=None, exists_ok=None, dtype=None, smart_crit=None, smart_t=None):
    """NBLAST query against target neurons, keeping scores >= threshold.

    The navis-nblast-large call: `nblast_sparse(queries, targets,
    threshold=0)`. Runs the runner with the sparse sink (pairs whose
    bounds cannot reach the threshold are not scored; the result is exact)
    and returns a pandas DataFrame of Sparse[float32, nan] columns (float64
    with precision=64): index = query ids, columns = target ids, both in
    input order; scores below the threshold are NaN (not stored), so
    `.sparse.density` is the fraction kept. With return_scipy=True:
    (scipy.sparse.coo_array, query ids, target ids) instead, the same
    cells stored.

    out: keep the output (Parquet triplets) there; default a temporary
    directory, removed after reading. exists='update' with the out of an
    earlier call and the neurons as they are now scores only the pairs of
    new or changed neurons (the result is what a fresh call gives). Other
    arguments as nblast_disk.
    """
    kw = _options(exists, exists_ok, precision, dtype, t, smart_t, criterion, smart_crit,
                  scores=scores, normalized=normalized, use_alpha=use_alpha, smat=smat, limit_dist=limit_dist,
                  n_cores=n_cores, progress=progress, smart=smart, approx_nn=approx_nn, units=units, scale=scale,
                  block_size=block_size, memory=memory, runner=runner, beam_options=beam_options, stage=stage)
    if scores == "both":
        raise ValueError("scores='both' is for nblast_disk (two arrays); nblast_sparse keeps one score per pair")
    if not isinstance(threshold, numbers.Real) or math.isnan(threshold):
        raise ValueError("threshold %r: want a number (-inf keeps every score)" % (threshold,))
    with _Job(query, target, queries, targets, kw) as job:
        o = os.fspath(out) if out is not None else os.path.join(job.tempdir(), "out")
        job.score(o, ["--sink", "sparse", "--threshold=%r" % float(threshold)])
        df = _long_result(job, o, "sparse")
        qids = _order(job, "queries", df["query"])
        tids = _order(job, "targets", df["target"])
        ql, tl = job.labels("queries", qids), job.labels("targets", tids)
    import pandas as pd
    from scipy import sparse
    i = pd.Index(qids).get_indexer(df["query"])
    j = pd.Index(tids).get_indexer(df["target"])
    if (i < 0).any() or (j < 0).any():
        raise NblastError("the sparse output holds ids that are not among the inputs' (%s): is OUT another run's?" % o)
    vals = df["score"].to_numpy()
    shape = (len(qids), len(tids))
    if return_scipy:
        m = sparse.coo_array((vals, (i, j)), shape=shape)
        return m, _index(ql, "query").to_numpy(), _index(tl, "target").to_numpy()
    csc = sparse.csc_matrix((vals, (i, j)), shape=shape)
    csc.sort_indices()
    dtype = pd.SparseDtype(vals.dtype, np.nan)
    cols = {}
    for k in range(shape[1]):
        lo, hi = csc.indptr[k], csc.indptr[k + 1]
        cols[k] = pd.arrays.SparseArray(csc.data[lo:hi], sparse_index=pd._libs.sparse.IntIndex(shape[0], csc.indices[lo:hi]),
                                        dtype=dtype)
    res = pd.DataFrame(cols, index=_index(ql, "query"))
    res.columns = _index(tl, "target")
    return res


def nblast_knn(query=None, target=None, k=20, *, threshold=-math.inf, out=None, exists="fail",
               scores="forward", normalized=True, use_alpha=False, smat="auto", limit_dist=_UNSET,
               n_cores=None, progress=True, approx_nn=False,
               units=None, scale=None, block_size=None, memory=None,
               runner=None, beam_options=None, stage=None,
               queries=None, targets=None, exists_ok=None):
    """Each query's k best targets: the exact k-nearest-neighbour table.

    Runs the runner with the top-k sink (`--sink topk --topk k`): each
    query's k highest scores among all targets (the query itself included
    in an all-by-all), exactly, without scoring the pairs that provably
    cannot reach the k-th best. Returns a pandas DataFrame with columns
    query, rank (1 = best), target, score (float32: the top-k output
    stores FLOAT; ranks are decided on the float64 scores), queries in
    input order; ties at equal scores: the smaller target id first. threshold: keep only scores >= it (default
    -inf: always k rows per query, fewer only when there are fewer
    targets). Other arguments as nblast_disk (no smart pre-screening).
    """
    kw = _options(exists, exists_ok, 32, None, 90, None, "percentile", None,
                  scores=scores, normalized=normalized, use_alpha=use_alpha, smat=smat, limit_dist=limit_dist,
                  n_cores=n_cores, progress=progress, smart=False, approx_nn=approx_nn, units=units, scale=scale,
                  block_size=block_size, memory=memory, runner=runner, beam_options=beam_options, stage=stage)
    if scores == "both":
        raise ValueError("scores='both' is for nblast_disk; nblast_knn ranks one score per pair")
    if not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError("k %r: want a whole number of targets >= 1" % (k,))
    with _Job(query, target, queries, targets, kw) as job:
        o = os.fspath(out) if out is not None else os.path.join(job.tempdir(), "out")
        thr = "-Inf" if threshold == -math.inf else repr(float(threshold))
        job.score(o, ["--sink", "topk", "--topk", str(int(k)), "--threshold=" + thr])
        df = _long_result(job, o, "topk")
        qids = _order(job, "queries", df["query"])
        side_q = job.sides["queries"]
        side_t = job.sides.get("targets") or side_q
    import pandas as pd
    pos = pd.Index(qids).get_indexer(df["query"])
    df = df.assign(_pos=pos).sort_values(["_pos", "rank"], kind="stable").drop(columns="_pos").reset_index(drop=True)
    if side_q.original is not None:
        df["query"] = pd.Series(side_q.label(df["query"]), dtype=object)
    if side_t.original is not None:
        df["target"] = pd.Series(side_t.label(df["target"]), dtype=object)
    return df
