"""Tests of nblast_go against navis 1.12 (../shared/anchors/navis).

Run them from the repository:

    NBLAST_RUNNER=bin/runner /usr/bin/python3 -m unittest discover -s python/tests -v

(`make test` runs them through cmd/runner's TestPythonPackage, with a
freshly built runner). They build navis Dotprops from the reference data
(../shared/testdata, or $NBLAST_SHARED_TESTDATA), call nblast_disk,
nblast_sparse and nblast_knn, and compare with navis.nblast,
nblast_allbyall and nblast_smart run here. Without navis (or the reference
data) they skip, saying why, and note the skip in $NBLAST_SKIP_LOG.
"""

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.dirname(HERE)
REPO = os.path.dirname(PYDIR)
sys.path.insert(0, PYDIR)
sys.dont_write_bytecode = True

SHARED = os.environ.get("NBLAST_SHARED_TESTDATA") or os.path.join(REPO, "..", "shared", "testdata")
NAVIS_LIB = os.environ.get("NBLAST_NAVIS_LIB") or os.path.join(REPO, "..", "shared", "anchors", "navis", "lib")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

navis = None
SKIP = None
try:
    if os.path.isdir(NAVIS_LIB) and NAVIS_LIB not in sys.path:
        sys.path.insert(0, NAVIS_LIB)
    import navis  # noqa: F811
except Exception as e:  # ImportError, or a broken dependency
    SKIP = ("navis is not importable (%s: %s): put shared/ beside the repository (navis 1.12 in "
            "shared/anchors/navis/lib, or set NBLAST_NAVIS_LIB) and run bash ../shared/anchors/navis/install-deps.sh"
            % (type(e).__name__, e))
if SKIP is None and not os.path.isfile(os.path.join(SHARED, "README.md")):
    SKIP = "navis reference data not found at %s (set NBLAST_SHARED_TESTDATA or put shared/ beside the repository)" % SHARED

import nblast_go  # noqa: E402
from nblast_go import NblastError, nblast_disk, nblast_knn, nblast_sparse  # noqa: E402


def _note_skip(test):
    p = os.environ.get("NBLAST_SKIP_LOG")
    if p:
        with open(p, "a") as f:
            f.write("python:%s\n" % test)


class _Skipping(unittest.TestCase):
    """Skips each test, noting it, without navis or the reference data."""

    def setUp(self):
        if SKIP:
            _note_skip(self.id())
            self.skipTest(SKIP)


def load(rel, str_ids=False, dtype=np.float64):
    """navis Dotprops from a reference dotprops CSV (neuron_id,x,y,z,vx,vy,vz,alpha)."""
    df = pd.read_csv(os.path.join(SHARED, rel), dtype={"neuron_id": str if str_ids else np.int64})
    out = []
    for nid, g in df.groupby("neuron_id", sort=False):
        out.append(navis.Dotprops(g[["x", "y", "z"]].to_numpy(dtype), k=None, vect=g[["vx", "vy", "vz"]].to_numpy(dtype),
                                  alpha=g["alpha"].to_numpy(dtype), id=nid if str_ids else int(nid), units="1 micrometer"))
    return navis.NeuronList(out)


def cached(name, make):
    if name not in _CACHE:
        _CACHE[name] = make()
    return _CACHE[name]


_CACHE = {}


def golden():
    return cached("golden", lambda: load("golden/synthetic.dotprops.csv"))


def examples():
    return cached("examples", lambda: load("neurons/navis_examples_k5_res1um.dotprops.csv"))


def kcs20():
    return cached("kcs20", lambda: load("neurons/kcs20.dotprops.csv", str_ids=True))


def nav(fn, *a, **kw):
    """A navis call, memoised (each takes seconds)."""
    key = (fn, len(a), tuple(id(x) for x in a), tuple(sorted(kw.items())))
    if key not in _CACHE:
        _CACHE[key] = getattr(navis, fn)(*a, n_cores=1, progress=False, **kw)
    return _CACHE[key]


def frame_of(z):
    """A Zarr result as a pandas frame labelled by its ids."""
    return pd.DataFrame(z[:], index=z.attrs["queries"], columns=z.attrs["targets"])


class Base(_Skipping):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="nblast_go-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def out(self, name="out"):
        return os.path.join(self.tmp, name)

    def assertClose(self, got, want, tol, what=""):
        """got (any order) against navis' frame want, by labels."""
        got = got.loc[list(want.index), list(want.columns)]
        d = np.abs(got.to_numpy(np.float64) - want.to_numpy(np.float64))
        self.assertLessEqual(float(np.nanmax(d)), tol, what)
        return float(np.nanmax(d))


class TestDisk(Base):
    """nblast_disk against navis.nblast / nblast_allbyall, float64 output."""

    def test_forward_modes(self):
        for name, dps in (("golden", golden()), ("examples", examples())):
            for kw in ({}, {"scores": "mean"}, {"normalized": False}, {"use_alpha": True}, {"limit_dist": "auto"}):
                with self.subTest(set=name, **kw):
                    z = nblast_disk(dps, dps, out=self.out(), exists="overwrite", precision=64, progress=False, **kw)
                    self.assertEqual(z.dtype, np.float64)
                    want = nav("nblast", dps, dps, **kw)
                    tol = 1e-9 if kw.get("normalized", True) else 1e-7  # raw scores are in the thousands
                    self.assertClose(frame_of(z), want, tol, "%s %s" % (name, kw))

    def test_allbyall_frame(self):
        """The seed's call: a Dask frame, lazily over the chunks; nblast_allbyall semantics."""
        dps = golden()
        f = nblast_disk(dps, out=self.out(), return_frame=True, precision=64, block_size=5, progress=False)
        import dask.dataframe as dd
        self.assertIsInstance(f, dd.DataFrame)
        self.assertEqual(f.npartitions, 4)  # 17 rows in chunks of 5
        self.assertEqual(f.index.name, "query")
        df = f.compute()
        self.assertEqual(df.shape, (17, 17))
        self.assertEqual(df.index.dtype, np.int64)
        self.assertEqual(df.columns.dtype, np.int64)
        self.assertEqual(set(df.index), set(dps.id.tolist()))
        want = nav("nblast_allbyall", dps)
        self.assertClose(df, want, 1e-9)
        self.assertTrue((np.diag(df.loc[want.index, want.columns].to_numpy()) == 1).all())

    def test_float32_default_and_zarr(self):
        dps = examples()
        z = nblast_disk(dps, dps, self.out(), progress=False)  # out positional, as the seed allows
        self.assertEqual(z.dtype, np.float32)
        self.assertEqual(sorted(z.attrs["queries"]), sorted(dps.id.tolist()))
        want = nav("nblast", dps, dps)
        self.assertClose(frame_of(z), want, 1e-6)

    def test_smart(self):
        dps = examples()
        z, mask = nblast_disk(dps, dps, out=self.out(), smart=True, t=50, criterion="percentile", return_mask=True,
                              precision=64, progress=False)
        want, wmask = nav("nblast_smart", dps, dps, t=50, criterion="percentile", return_mask=True)
        self.assertClose(frame_of(z), want, 1e-9)
        got_mask = pd.DataFrame(mask[:], index=mask.attrs["queries"], columns=mask.attrs["targets"])
        wmask = pd.DataFrame(wmask, index=want.index, columns=want.columns)
        self.assertTrue((got_mask.loc[want.index, want.columns].to_numpy() == wmask.to_numpy()).all())

    def test_exists(self):
        dps = examples()
        nblast_disk(dps, out=self.out(), progress=False)
        with self.assertRaises(NblastError) as cm:
            nblast_disk(dps, out=self.out(), progress=False)
        msg = str(cm.exception)
        self.assertTrue(msg.startswith("runner: "), msg)
        self.assertIn("exists", msg)
        self.assertNotIn("\n", msg)
        # navis-nblast-large's exists_ok: True overwrites, "resume" finds it done.
        nblast_disk(dps, out=self.out(), exists_ok=True, progress=False)
        z = nblast_disk(dps, out=self.out(), exists="resume", progress=False)
        self.assertTrue(z.attrs["complete"])


    def test_update(self):
        """exists='update': a neuron changed, one removed, one added; the
        frame equals a fresh call's by id (the update keeps the earlier
        order and appends the new neurons, which the attrs list)."""
        dps = golden()
        out = self.out("dense-upd")
        nblast_disk(dps, out=out, precision=64, block_size=5, progress=False)
        moved = dps[2].copy()
        moved.points = moved.points + 1.5
        added = dps[4].copy()
        added.id = 1
        new = navis.NeuronList([n for n in dps if n.id not in (dps[2].id, dps[3].id)] + [moved, added])
        got = nblast_disk(new, out=out, exists="update", return_frame=True, precision=64, block_size=5,
                          progress=False).compute()
        z = nblast_disk(new, out=self.out("dense-fresh"), precision=64, block_size=5, progress=False)
        want = frame_of(z)
        self.assertEqual(sorted(got.index), sorted(want.index))
        self.assertEqual(sorted(got.columns), sorted(want.columns))
        self.assertTrue((got.loc[want.index, want.columns].to_numpy() == want.to_numpy()).all())
        self.assertEqual(list(got.index)[-1], 1)  # the new neuron last
        with open(os.path.join(out, "_nblast_run.json")) as f:
            upd = json.load(f)["update"]
        self.assertEqual((upd["queries"]["new"], upd["queries"]["changed"], upd["queries"]["removed"]), (1, 1, 1))


class TestSparse(Base):
    def test_matches_navis(self):
        dps = golden()
        s = nblast_sparse(dps, dps, threshold=0, progress=False)
        want = nav("nblast", dps, dps)
        self.assertEqual(list(s.index), dps.id.tolist())  # input order, as navis
        self.assertEqual(list(s.columns), dps.id.tolist())
        self.assertTrue(all(str(t) == "Sparse[float32, nan]" for t in s.dtypes))
        w = want.to_numpy()
        keep = w >= 0
        self.assertAlmostEqual(s.sparse.density, keep.mean())
        dense = s.sparse.to_dense().to_numpy(np.float64)
        self.assertTrue(np.isnan(dense[~keep]).all())
        self.assertLessEqual(np.abs(dense[keep] - w[keep]).max(), 1e-6)
        # float64, and the same as a scipy matrix
        s64 = nblast_sparse(dps, dps, threshold=0.1, precision=64, progress=False)
        self.assertTrue(all(str(t) == "Sparse[float64, nan]" for t in s64.dtypes))
        m, qids, tids = nblast_sparse(dps, dps, threshold=0.1, precision=64, return_scipy=True, progress=False)
        self.assertEqual(m.shape, (17, 17))
        self.assertEqual(qids.dtype, np.int64)
        self.assertEqual(m.nnz, int((w >= 0.1).sum()))
        dm = m.toarray()
        self.assertLessEqual(np.abs(dm[w >= 0.1] - w[w >= 0.1]).max(), 1e-9)
        self.assertTrue((s64.sparse.to_dense().to_numpy()[w >= 0.1] == dm[w >= 0.1]).all())

    def test_update(self):
        """exists='update': a neuron changed, one removed, one added; the
        result equals a fresh call's."""
        dps = golden()
        out = self.out("upd")
        nblast_sparse(dps, threshold=0, out=out, precision=64, progress=False)
        moved = dps[2].copy()
        moved.points = moved.points + 1.5
        added = dps[4].copy()
        added.id = 1
        new = navis.NeuronList([n for n in dps if n.id not in (dps[2].id, dps[3].id)] + [moved, added])
        got = nblast_sparse(new, threshold=0, out=out, exists="update", precision=64, progress=False)
        want = nblast_sparse(new, threshold=0, precision=64, progress=False)
        self.assertEqual(list(got.index), list(want.index))
        self.assertEqual(list(got.columns), list(want.columns))
        self.assertTrue(got.sparse.to_dense().equals(want.sparse.to_dense()))
        with open(os.path.join(out, "_nblast_run.json")) as f:
            upd = json.load(f)["update"]
        self.assertEqual((upd["queries"]["new"], upd["queries"]["changed"], upd["queries"]["removed"]), (1, 1, 1))

    def test_string_and_uuid_ids(self):
        dps = kcs20()
        s = nblast_sparse(dps, threshold=0.2, progress=False)  # all-by-all
        self.assertEqual(list(s.index), dps.id.tolist())
        self.assertEqual(s.index.dtype, object)
        want = nav("nblast_allbyall", dps)
        dense = s.sparse.to_dense()
        w = want.to_numpy()
        got = dense.loc[want.index, want.columns].to_numpy(np.float64)
        self.assertLessEqual(np.abs(got[w >= 0.2] - w[w >= 0.2]).max(), 1e-6)
        self.assertTrue(np.isnan(got[w < 0.2]).all())
        # navis' default ids are UUIDs: results are labelled with the same objects.
        ex = examples()
        nl = navis.NeuronList([navis.Dotprops(n.points, k=None, vect=n.vect, alpha=n.alpha, units="1 micrometer") for n in ex])
        self.assertIsInstance(nl[0].id, uuid.UUID)
        s = nblast_sparse(nl, nl, threshold=-math.inf, precision=64, progress=False)
        self.assertEqual(list(s.index), list(nl.id))
        self.assertEqual(list(s.columns), list(nl.id))
        want = nav("nblast", ex, ex).to_numpy()
        self.assertLessEqual(np.abs(s.sparse.to_dense().to_numpy(np.float64) - want).max(), 1e-9)


class TestKNN(Base):
    def test_matches_navis(self):
        dps = golden()
        k = 3
        top = nblast_knn(dps, k=k, progress=False)
        self.assertEqual(top["score"].dtype, np.float32)
        self.assertEqual(list(top.columns), ["query", "rank", "target", "score"])
        self.assertEqual(len(top), 17 * k)
        self.assertEqual(list(pd.unique(top["query"])), dps.id.tolist())
        want = nav("nblast_allbyall", dps)
        for q, g in top.groupby("query", sort=False):
            row = want.loc[q]
            # navis' row, best first; ties: the smaller target id first
            order = sorted(row.index, key=lambda t: (-row[t], t))[:k]
            self.assertEqual(list(g["rank"]), list(range(1, k + 1)))
            self.assertEqual(list(g["target"]), order, q)
            self.assertLessEqual(np.abs(g["score"].to_numpy(np.float64) - row[order].to_numpy()).max(), 1e-6)


    def test_update(self):
        """exists='update' on the k-NN table equals a fresh call."""
        dps = golden()
        out = self.out("knn")
        nblast_knn(dps, k=3, out=out, progress=False)
        moved = dps[5].copy()
        moved.points = moved.points + 2.0
        new = navis.NeuronList([n for n in dps if n.id not in (dps[5].id, dps[6].id)] + [moved])
        got = nblast_knn(new, k=3, out=out, exists="update", progress=False)
        want = nblast_knn(new, k=3, progress=False)
        self.assertTrue(got.equals(want))


class TestInputs(Base):
    def test_frame_npz_and_parquet_path(self):
        dps = golden()
        want = frame_of(nblast_disk(dps, out=self.out("a"), precision=64, progress=False))
        # A DataFrame in navis' Parquet layout (rows interleaved).
        rows = []
        for n in dps:
            d = pd.DataFrame(n.points, columns=list("xyz"))
            d[["vect_x", "vect_y", "vect_z"]] = n.vect
            d["alpha"] = n.alpha
            d["neuron"] = n.id
            rows.append(d)
        df = pd.concat(rows, ignore_index=True).sample(frac=1, random_state=1)  # rows of neurons interleaved
        got = frame_of(nblast_disk(df, out=self.out("b"), precision=64, progress=False))
        self.assertEqual(sorted(got.index), sorted(want.index))
        self.assertClose(got, want, 1e-12)  # points in another order: sums rounded differently
        # The reference Parquet file, by path (no conversion).
        pq = os.path.join(SHARED, "golden", "synthetic.dotprops.parquet")
        got = frame_of(nblast_disk(pq, out=self.out("c"), precision=64, progress=False))
        self.assertClose(got, want, 0)
        s = nblast_sparse(pq, threshold=0.5, progress=False)
        self.assertEqual(list(s.index), dps.id.tolist())  # ids from the file's metadata, in file order

    def test_bad_inputs(self):
        dps = examples()
        nl = navis.example_neurons(1)
        with self.assertRaisesRegex(TypeError, "make_dotprops"):
            nblast_disk(nl, out=self.out(), progress=False)
        with self.assertRaisesRegex(ValueError, "smat"):
            nblast_disk(dps, out=self.out(), smat=None, progress=False)
        with self.assertRaisesRegex(ValueError, "non-unique"):
            nblast_disk(navis.NeuronList([dps[0], dps[0]]), out=self.out(), progress=False)
        with self.assertRaisesRegex(ValueError, "precision"):
            nblast_disk(dps, out=self.out(), precision=8, progress=False)
        # A bad neuron: the runner's first error line names it.
        bad = dps[1].copy()
        bad.vect = bad.vect * 0
        with self.assertRaises(NblastError) as cm:
            nblast_disk(navis.NeuronList([dps[0], bad]), out=self.out(), progress=False)
        self.assertRegex(str(cm.exception), r"^runner: .*\.npz: neuron %s: point 0 has a zero tangent vector" % bad.id)
        # Units: 8 nm neurons need units=.
        nm = navis.NeuronList([navis.Dotprops(n.points * 125, k=None, vect=n.vect, alpha=n.alpha, id=n.id, units="8 nanometer") for n in dps])
        with self.assertRaises(NblastError) as cm:
            nblast_disk(nm, out=self.out(), progress=False)
        self.assertIn('has units "8 nanometer"', str(cm.exception))
        # units="8 nm" converts as navis' convert_units("um") does (v * 0.008).
        z = nblast_disk(nm, out=self.out("u"), units="8 nm", precision=64, progress=False)
        self.assertClose(frame_of(z), nav("nblast_allbyall", nm.convert_units("um")), 1e-9)
        with self.assertRaises(NblastError):
            nblast_disk(dps, out=self.out(), runner="/nonexistent/runner", progress=False)


class TestRunner(Base):
    def test_progress_bar(self):
        """The bar follows the runner's JSON progress to the end of each stage."""
        bars = []

        class Rec:
            def __init__(self, total=None, desc=None, **kw):
                self.total, self.desc, self.n = total, desc, 0
                bars.append(self)

            def update(self, k):
                self.n += k

            def close(self):
                pass

        import nblast_go._run as R
        old = R._tqdm
        R._tqdm = lambda: Rec
        try:
            nblast_disk(golden(), out=self.out(), progress=True)
        finally:
            R._tqdm = old
        stages = {b.desc: b for b in bars}
        self.assertIn("NBLAST", stages)
        self.assertEqual(stages["NBLAST"].total, 17 * 17)
        self.assertEqual(stages["NBLAST"].n, 17 * 17)
        # A local run reads the neurons' .npz as they are: no conversion stage.
        self.assertNotIn("Preparing", stages)


class TestInterrupt(unittest.TestCase):
    """Needs the runner only (not navis)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="nblast_go-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_interrupt(self):
        """Ctrl-C: the runner stops and releases OUT, KeyboardInterrupt is
        raised, and exists='resume' finishes the run."""
        exe = nblast_go.find_runner()
        neurons = os.path.join(self.tmp, "s.parquet")
        subprocess.run([exe, "synth", "--n", "400", "--out", neurons], check=True, stderr=subprocess.DEVNULL)
        out = os.path.join(self.tmp, "out")
        script = ("import sys; sys.path.insert(0, %r)\n"
                  "from nblast_go import nblast_disk\n"
                  "try:\n"
                  "    nblast_disk(%r, out=%r, progress=True, n_cores=1)\n"
                  "    print('FINISHED')\n"
                  "except KeyboardInterrupt as e:\n"
                  "    print('INTERRUPTED', e)\n") % (PYDIR, neurons, out)
        p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Wait until scoring has started (a chunk file), then Ctrl-C.
        def chunks():
            d = os.path.join(out, "scores")
            return [f for f in os.listdir(d) if re.match(r"\d+\.\d+$", f)] if os.path.isdir(d) else []
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None and not chunks():
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        so, se = p.communicate(timeout=120)
        so, se = so.decode(), se.decode()
        if "FINISHED" in so:
            self.skipTest("the run finished before it could be interrupted")
        self.assertIn("INTERRUPTED", so, se)
        self.assertIn("runner: interrupted", so)
        pid = int(re.search(r"stopping the runner \(pid (\d+)\)", se).group(1))
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)
        self.assertFalse(os.path.exists(os.path.join(out, "_nblast_owner.json")))
        with open(os.path.join(out, "scores", ".zattrs")) as f:
            attrs = json.load(f)
        self.assertFalse(attrs["complete"])
        z = nblast_disk(neurons, out=out, exists="resume", progress=False)
        self.assertTrue(z.attrs["complete"])
        self.assertFalse(np.isnan(z[:]).any())


if __name__ == "__main__":
    unittest.main()
