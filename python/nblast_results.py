"""Read an nblast-go output directory as pandas DataFrames.

One file, Python 3; needs pandas (and numpy). Optional: zarr (dense arrays),
pyarrow or duckdb (Parquet outputs read directly), scipy (to_sparse).
Without pyarrow and duckdb (Debian), sparse and top-k outputs are read
through the CSV that ``runner export`` writes: pass ``runner=`` (the runner
binary; default $NBLAST_RUNNER, else ``runner`` on PATH) or ``csv=`` (a file
you exported yourself).

    import nblast_results as nr
    m = nr.read("OUT")                       # what="scores": matrix, index = query ids, columns = target ids
    s = nr.read("OUT", what="sparse")        # long table: query, target, score
    t = nr.read("OUT", what="topk")          # query, rank, target, score
    csr, qids, tids = nr.to_sparse("OUT", what="sparse")

Ids keep the output's type: int64 ids are int64 (every digit), string ids
are str (also "007" or "NA"). Scores keep the stored type: float32 for
FLOAT / <f4, float64 for DOUBLE / <f8 (float16 arrays read as float16 with
zarr, as float32 through the CSV). An output whose run did not finish (no
_manifest.json, or .zattrs "complete": false) raises IncompleteOutputError
unless allow_incomplete=True.
"""

import json
import os
import shutil
import struct
import subprocess
import tempfile

__all__ = ["read", "to_sparse", "IncompleteOutputError", "OutputError"]

MANIFEST = "_manifest.json"
_DENSE = ("scores", "scores_reverse", "smart_mask")
_ENGINES = ("auto", "zarr", "pyarrow", "duckdb", "csv")


class OutputError(Exception):
    """The directory does not hold what was asked for, or it cannot be read."""


class IncompleteOutputError(OutputError):
    """The run that writes the output did not finish (or is still running)."""


def _is_remote(path):
    return "://" in str(path)


def _load_json(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("ascii"))


def _parts(dir_, prefix):
    try:
        names = os.listdir(dir_)
    except FileNotFoundError:
        return []
    return sorted(os.path.join(dir_, n) for n in names
                  if n.startswith(prefix) and n.endswith(".parquet"))


def _default_what(out):
    if _is_remote(out):
        return "sparse"
    if _parts(out, "part-") or os.path.exists(os.path.join(out, MANIFEST)):
        return "sparse"
    if _parts(os.path.join(out, "topk"), "topk-") or os.path.exists(os.path.join(out, "topk", MANIFEST)):
        return "topk"
    return "scores"


# --- Parquet footer: the physical types of the columns (stdlib only) ------

_PARQUET_TYPES = {0: "BOOLEAN", 1: "INT32", 2: "INT64", 3: "INT96", 4: "FLOAT",
                  5: "DOUBLE", 6: "BYTE_ARRAY", 7: "FIXED_LEN_BYTE_ARRAY"}


class _Thrift:
    """A minimal Thrift compact-protocol reader (enough for FileMetaData)."""

    def __init__(self, b):
        self.b, self.i = b, 0

    def byte(self):
        v = self.b[self.i]
        self.i += 1
        return v

    def varint(self):
        shift = v = 0
        while True:
            c = self.byte()
            v |= (c & 0x7F) << shift
            if not c & 0x80:
                return v
            shift += 7

    def zigzag(self):
        v = self.varint()
        return (v >> 1) ^ -(v & 1)

    def value(self, t):
        if t in (1, 2):  # bool in a field header
            return t == 1
        if t == 3:
            return struct.unpack("b", bytes([self.byte()]))[0]
        if t in (4, 5, 6):
            return self.zigzag()
        if t == 7:
            self.i += 8
            return None
        if t == 8:
            n = self.varint()
            v = self.b[self.i:self.i + n]
            self.i += n
            return v
        if t in (9, 10):
            h = self.byte()
            n, et = h >> 4, h & 0x0F
            if n == 15:
                n = self.varint()
            if et in (1, 2):  # bools in a list: one byte each
                return [self.byte() == 1 for _ in range(n)]
            return [self.value(et) for _ in range(n)]
        if t == 11:
            n = self.varint()
            if n == 0:
                return {}
            kv = self.byte()
            return {self.value(kv >> 4): self.value(kv & 0x0F) for _ in range(n)}
        if t == 12:
            return self.struct()
        raise OutputError("bad Parquet footer (thrift type %d)" % t)

    def struct(self):
        fields, last = {}, 0
        while True:
            h = self.byte()
            if h == 0:
                return fields
            t, delta = h & 0x0F, h >> 4
            fid = last + delta if delta else self.zigzag()
            last = fid
            fields[fid] = self.value(t)


def _footer(path):
    """A Parquet file's FileMetaData, as {field id: value}."""
    with open(path, "rb") as f:
        f.seek(-8, os.SEEK_END)
        n, magic = struct.unpack("<I4s", f.read(8))
        if magic != b"PAR1":
            raise OutputError("%s is not a Parquet file" % path)
        f.seek(-8 - n, os.SEEK_END)
        return _Thrift(f.read(n)).struct()


def parquet_key_values(path):
    """The key/value metadata of a Parquet file, [(key, value)] in file
    order (navis writes "<id>:id", "<id>:units", ... per neuron)."""
    return [(kv[1].decode("utf-8"), kv.get(2, b"").decode("utf-8")) for kv in _footer(path).get(5, [])]


def parquet_column_types(path):
    """{column name: physical type} of a Parquet file, from its footer."""
    meta = _footer(path)
    out = {}
    for el in meta.get(2, [])[1:]:  # element 0 is the root
        if 1 in el:
            out[el[4].decode("utf-8")] = _PARQUET_TYPES.get(el[1], str(el[1]))
    return out


# --- completeness ---------------------------------------------------------

def _check_manifest(dir_, kind, allow_incomplete):
    p = os.path.join(dir_, MANIFEST)
    if not os.path.exists(p):
        if not _parts(dir_, "part-" if kind == "sparse" else "topk-"):
            raise OutputError("%s has no %s output (no %s and no part files; a run that has "
                              "not written its first part yet looks the same)" % (dir_, kind, p))
        if allow_incomplete:
            return None
        raise IncompleteOutputError(
            "%s: the %s output is incomplete (no %s): its run did not finish or is still "
            "running; resume it with the same command and --exists resume, or pass "
            "allow_incomplete=True to read the part files written so far" % (dir_, kind, MANIFEST))
    m = _load_json(p)
    if not m.get("complete") and not allow_incomplete:
        raise IncompleteOutputError("%s: the %s output is incomplete (%s says complete: false)" % (dir_, kind, p))
    return m


def _zarr_meta(out, name, allow_incomplete):
    d = os.path.join(out, name)
    if not os.path.exists(os.path.join(d, ".zarray")):
        raise OutputError("%s has no dense array %s (no %s)" % (out, name, os.path.join(d, ".zarray")))
    attrs = _load_json(os.path.join(d, ".zattrs"))
    if not attrs.get("complete") and not allow_incomplete:
        raise IncompleteOutputError(
            "%s: the dense array %s is incomplete (its .zattrs says complete: false): the run did "
            "not finish or is still running; resume it with --exists resume, or pass "
            "allow_incomplete=True (unwritten cells read as the fill value, NaN)" % (out, name))
    return _load_json(os.path.join(d, ".zarray")), attrs


def _ids(values):
    """A pandas Index of ids with their type: int64 or str (object)."""
    import pandas as pd
    if all(isinstance(v, int) for v in values):
        return pd.Index(values, dtype="int64")
    return pd.Index([str(v) for v in values], dtype=object)


# --- the CSV route (runner export) ----------------------------------------

def _find_runner(runner):
    runner = runner or os.environ.get("NBLAST_RUNNER") or "runner"
    exe = runner if os.sep in runner else shutil.which(runner)
    if not exe or not os.path.exists(exe):
        return None
    return exe


def _export_csv(out, what, runner, allow_incomplete):
    """Runs `runner export` and returns the path of its CSV (a temp file)."""
    exe = _find_runner(runner)
    if exe is None:
        raise OutputError(
            "cannot read %s's %s output: neither pyarrow nor duckdb is importable, and no runner "
            "binary (%r) was found to export it as CSV; pass runner='/path/to/runner' (go build -o "
            "runner ./cmd/runner), or csv='FILE' from `runner export --out %s --what %s --to FILE`"
            % (out, what, runner or os.environ.get("NBLAST_RUNNER") or "runner", out, what))
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="nblast-export-")
    os.close(fd)
    cmd = [exe, "export", "--out", str(out), "--what", what, "--format", "csv", "--to", tmp]
    if allow_incomplete:
        cmd.append("--allow_incomplete")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        os.unlink(tmp)
        msg = p.stderr.decode("utf-8", "replace").strip()
        cls = IncompleteOutputError if "incomplete" in msg else OutputError
        raise cls("%s failed: %s" % (" ".join(cmd[:6]), msg))
    return tmp


def _read_csv(path, columns, id_type, score_dtype):
    import numpy as np
    import pandas as pd
    idt = np.int64 if id_type == "INT64" else str
    dtypes = {"query": idt, "target": idt, "score": np.float64}
    if "rank" in columns:
        dtypes["rank"] = np.int64
    df = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_filter=False,
                     float_precision="round_trip")
    if list(df.columns) != columns:
        raise OutputError("%s: columns %s, want %s" % (path, list(df.columns), columns))
    if id_type is None:
        # A CSV without its Parquet files: ids that all read as int64 are int64.
        ints = r"-?(0|[1-9][0-9]{0,18})"
        if all(df[c].str.fullmatch(ints).all() for c in ("query", "target")):
            try:
                for c in ("query", "target"):
                    df[c] = np.array([int(v) for v in df[c]], dtype=np.int64)
            except OverflowError:  # a 19-digit string beyond int64: strings after all
                df = _read_csv(path, columns, "BYTE_ARRAY", score_dtype)
    df["score"] = df["score"].astype(score_dtype)
    return df


# --- public API -----------------------------------------------------------

def _pick(engine, wanted):
    if engine != "auto":
        return engine
    for name in wanted:
        try:
            __import__(name)
            return name
        except ImportError:
            pass
    return "csv"


def _long(out, what, runner, csv, allow_incomplete, engine):
    import numpy as np
    import pandas as pd
    columns = ["query", "target", "score"] if what == "sparse" else ["query", "rank", "target", "score"]
    if csv is not None:
        # A CSV the user exported: types from the Parquet files when at hand.
        id_type = score_dtype = m = None
        if out is not None and not _is_remote(out):
            dir_ = out if what == "sparse" else os.path.join(out, "topk")
            m = _check_manifest(dir_, what, allow_incomplete)
            id_type, score_dtype = _parquet_types(dir_, what)
        return _check_rows(_read_csv(csv, columns, id_type, score_dtype or np.float64), m, csv)
    if engine == "zarr":
        raise ValueError("engine 'zarr' reads dense arrays; a %s output: auto, pyarrow, duckdb or csv" % what)
    m = None
    if _is_remote(out):
        engine = "csv"  # only the runner reads gs:// here
        id_type, score_dtype = None, np.float64
    else:
        dir_ = out if what == "sparse" else os.path.join(out, "topk")
        m = _check_manifest(dir_, what, allow_incomplete)
        id_type, score_dtype = _parquet_types(dir_, what)
        files = _parts(dir_, "part-" if what == "sparse" else "topk-")
    engine = _pick(engine, ("pyarrow", "duckdb"))
    if engine == "csv":
        tmp = _export_csv(out, what, runner, allow_incomplete)
        try:
            return _read_csv(tmp, columns, id_type, score_dtype)
        finally:
            os.unlink(tmp)
    frames = []
    for f in files:  # part files in name order: the plan order, as runner export
        if engine == "pyarrow":
            import pyarrow.parquet as pq
            frames.append(pq.read_table(f).to_pandas())
        elif engine == "duckdb":
            import duckdb
            con = duckdb.connect()
            frames.append(con.execute("SELECT * FROM read_parquet('%s')" % f.replace("'", "''")).df())
            con.close()
        else:
            raise ValueError("engine %r: want one of %s" % (engine, ", ".join(_ENGINES)))
    if not frames:
        return _read_csv_empty(columns, id_type, score_dtype)
    df = pd.concat(frames, ignore_index=True)[columns]
    for c in ("query", "target"):
        df[c] = df[c].astype(np.int64) if id_type == "INT64" else df[c].astype(str).astype(object)
    if "rank" in df:
        df["rank"] = df["rank"].astype(np.int64)
    df["score"] = df["score"].astype(score_dtype)
    return _check_rows(df, m, dir_)


def _check_rows(df, manifest, where):
    """The manifest counts every part's rows: a difference means a damaged or changed output."""
    if manifest and manifest.get("complete") and len(df) != manifest.get("rows"):
        raise OutputError("%s: read %d rows, but %s says %s: the output changed after its run "
                          "finished, or is damaged (or the CSV is of another output)"
                          % (where, len(df), MANIFEST, manifest.get("rows")))
    return df


def _read_csv_empty(columns, id_type, score_dtype):
    import numpy as np
    import pandas as pd
    idt = np.int64 if id_type == "INT64" else object
    data = {c: pd.Series([], dtype=idt) for c in ("query", "target")}
    data["rank"] = pd.Series([], dtype=np.int64)
    data["score"] = pd.Series([], dtype=score_dtype)
    return pd.DataFrame({c: data[c] for c in columns})


def _parquet_types(dir_, what):
    """(id type, score numpy dtype) from the first part file's footer."""
    import numpy as np
    files = _parts(dir_, "part-" if what == "sparse" else "topk-")
    if not files:
        return None, np.float32
    types = parquet_column_types(files[0])
    score = {"FLOAT": np.float32, "DOUBLE": np.float64}.get(types.get("score"), np.float64)
    return types.get("query"), score


def _dense(out, name, runner, allow_incomplete, engine):
    import numpy as np
    import pandas as pd
    zarray, attrs = _zarr_meta(out, name, allow_incomplete)
    queries, targets = _ids(attrs["queries"]), _ids(attrs["targets"])
    engine = _pick(engine, ("zarr",))
    if engine == "zarr":
        import zarr
        values = zarr.open_array(os.path.join(out, name), mode="r")[:]
    elif engine == "csv":
        if name == "smart_mask":
            raise OutputError("smart_mask is read with zarr only (runner export does not export it)")
        dtype = {"<f8": np.float64}.get(zarray["dtype"], np.float32)
        tmp = _export_csv(out, name, runner, allow_incomplete)
        try:
            df = pd.read_csv(tmp, dtype={"query": str, "target": str, "score": np.float64},
                             keep_default_na=False, na_filter=False, float_precision="round_trip")
        finally:
            os.unlink(tmp)
        row = {str(v): i for i, v in enumerate(queries)}
        col = {str(v): j for j, v in enumerate(targets)}
        values = np.full((len(queries), len(targets)), np.nan, dtype=dtype)
        values[df["query"].map(row).to_numpy(), df["target"].map(col).to_numpy()] = df["score"].to_numpy().astype(dtype)
    else:
        raise ValueError("engine %r for a dense array: want auto, zarr or csv" % engine)
    if values.shape != (len(queries), len(targets)):
        raise OutputError("%s/%s: shape %s for %d queries and %d targets" % (out, name, values.shape, len(queries), len(targets)))
    queries.name, targets.name = "query", "target"
    df = pd.DataFrame(values, index=queries, columns=targets, copy=False)
    df.attrs.update({k: v for k, v in attrs.items() if k not in ("queries", "targets")})
    return df


def read(out, what=None, runner=None, csv=None, allow_incomplete=False, engine="auto"):
    """Read an output directory OUT as a pandas DataFrame.

    what: "scores" (also "scores_reverse", "smart_mask"): the dense matrix,
      index = query ids (name "query"), columns = target ids (name
      "target"), in the array's order (the run's plan order), .attrs = the
      array's attributes; "sparse": query, target, score (OUT/part-*);
      "topk": query, rank, target, score (OUT/topk). Default: sparse if OUT
      has it, else topk, else scores (as runner export).
    runner: the runner binary for the CSV route (default $NBLAST_RUNNER,
      else "runner" on PATH).
    csv: a CSV from `runner export --out OUT --what WHAT --format csv`, read
      instead of running the runner (out may then be None; with out given,
      its manifest and Parquet footers give the id and score types).
    engine: "auto" (zarr for dense; pyarrow, then duckdb, then the CSV route
      for Parquet outputs), or one of "zarr", "pyarrow", "duckdb", "csv".
    allow_incomplete: read an unfinished output (rows / chunks written so far)
      instead of raising IncompleteOutputError.
    """
    if engine not in _ENGINES:
        raise ValueError("engine %r: want one of %s" % (engine, ", ".join(_ENGINES)))
    if out is not None:
        out = os.fspath(out)
    if what is None:
        what = _default_what(out) if out is not None else "sparse"
    if what in _DENSE:
        if out is None or _is_remote(out):
            raise OutputError("a dense array is read from a local OUT directory (gs://: export it with runner export --what %s)" % what)
        return _dense(out, what, runner, allow_incomplete, engine)
    if what not in ("sparse", "topk"):
        raise ValueError("what %r: want scores, scores_reverse, smart_mask, sparse or topk" % what)
    return _long(out, what, runner, csv, allow_incomplete, engine)


def to_sparse(out, what="sparse", **kw):
    """(scipy.sparse.csr_matrix, query_ids, target_ids) of an output.

    Rows are query_ids, columns target_ids (numpy arrays, int64 or object):
    for "sparse" / "topk" the ids in order of first appearance (the plan
    order of the output); for a dense array its ids. Pairs the output
    does not hold (below --threshold, beyond the top K) are implicit zeros;
    a stored score of 0 is an explicit entry. Other arguments as read().
    """
    import numpy as np
    import pandas as pd
    from scipy import sparse
    df = read(out, what=what, **kw)
    if what in _DENSE:
        v = df.to_numpy()
        i, j = np.nonzero(~np.isnan(v)) if v.dtype.kind == "f" else np.nonzero(np.ones_like(v, dtype=bool))
        m = sparse.csr_matrix((v[i, j], (i, j)), shape=v.shape)
        return m, df.index.to_numpy(), df.columns.to_numpy()
    qids, tids = pd.unique(df["query"]), pd.unique(df["target"])
    i = pd.Index(qids).get_indexer(df["query"])
    j = pd.Index(tids).get_indexer(df["target"])
    m = sparse.csr_matrix((df["score"].to_numpy(), (i, j)), shape=(len(qids), len(tids)))
    return m, np.asarray(qids), np.asarray(tids)
