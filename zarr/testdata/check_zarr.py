"""Cross-check of sinks/zarr.go with zarr-python (run by TestZarrPythonReadsOurArrays).

usage: check_zarr.py OUT EXPECT_JSON

Opens each array of EXPECT_JSON["arrays"] under the Zarr v2 group OUT the way
the output contract says users will (zarr.open_array(path, mode="r")), checks
shape, chunks, dtype, fill value, compressor, attrs ("queries", "targets",
"complete") and every value against numpy's own float64 -> dtype conversion of
the source values. Then writes arrays with zarr-python under
EXPECT_JSON["py_out"] for the Go reader to check. Exits non-zero on mismatch.
"""
import json
import sys

import numcodecs
import numpy as np
import zarr


def source(bits, shape):
    return np.array(bits, dtype=np.uint64).view("<f8").reshape(shape)


def same(got, want, what):
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    gn, wn = np.isnan(got), np.isnan(want)
    assert (gn == wn).all(), f"{what}: NaN at {np.argwhere(gn != wn).tolist()}"
    u = {2: np.uint16, 4: np.uint32, 8: np.uint64}[got.dtype.itemsize]
    gb, wb = got.view(u), want.view(u)  # bitwise: keeps -0.0 and rounding honest
    bad = np.argwhere((gb != wb) & ~gn)
    assert len(bad) == 0, f"{what}: values differ at {bad.tolist()[:10]}: {got[tuple(bad[0])]!r} != {want[tuple(bad[0])]!r}"


def main(out, expect_path):
    with open(expect_path) as f:
        exp = json.load(f)  # Python ints: ids above 2**53 stay exact
    shape, chunks = tuple(exp["shape"]), tuple(exp["chunks"])
    print(f"zarr {zarr.__version__}, numcodecs {numcodecs.__version__}, numpy {np.__version__}")

    group = zarr.open_group(out, mode="r")
    names = sorted(group.array_keys())
    assert names == sorted(a["name"] for a in exp["arrays"]), f"group arrays {names}"

    for a in exp["arrays"]:
        path = f"{out}/{a['name']}"
        z = zarr.open_array(path, mode="r")
        assert z.shape == shape, f"{path}: shape {z.shape}"
        assert z.chunks == chunks, f"{path}: chunks {z.chunks}"
        assert z.dtype == np.dtype(a["dtype"]), f"{path}: dtype {z.dtype}"
        assert np.isnan(z.fill_value), f"{path}: fill_value {z.fill_value}"
        comp = getattr(z, "compressor", None)
        assert comp is not None and comp.codec_id == "zstd", f"{path}: compressor {comp}"
        assert z.attrs["queries"] == exp["queries"], f"{path}: queries {z.attrs['queries']}"
        assert z.attrs["targets"] == exp["targets"], f"{path}: targets {z.attrs['targets']}"
        assert z.attrs["complete"] is a["complete"], f"{path}: complete {z.attrs['complete']}"
        with np.errstate(over="ignore", invalid="ignore"):
            want = source(a["bits"], shape).astype(a["dtype"])
        same(z[:100, :100], want, path)
        same(z[2:5, 3:9], want[2:5, 3:9], path + "[2:5, 3:9]")
        print(f"ok {path} {z.dtype} complete={a['complete']}")

    r = exp["ramp"]  # big chunks: windowed zstd frames
    z = zarr.open_array(r["path"], mode="r")
    assert z.chunks == tuple(r["chunks"]), f"{r['path']}: chunks {z.chunks}"
    n = r["shape"][0] * r["shape"][1]
    same(z[:, :], (np.arange(n, dtype="<f8") / 7 - 3.5).reshape(r["shape"]).astype(r["dtype"]), r["path"])
    print(f"ok {r['path']} {z.dtype} chunks={z.chunks}")

    # Arrays for the Go reader.
    with np.errstate(over="ignore", invalid="ignore"):
        src = source(exp["source_bits"], shape)
        z = zarr.open_array(f"{exp['py_out']}/py_zstd_f4", mode="w", shape=shape, chunks=chunks,
                            dtype="<f4", compressor=numcodecs.Zstd(level=1), fill_value=np.nan)
        z[:, :] = src.astype("<f4")
        z = zarr.open_array(f"{exp['py_out']}/py_raw_f8", mode="w", shape=shape, chunks=chunks,
                            dtype=">f8", compressor=None, fill_value=np.nan, dimension_separator="/")
        z[:, :] = src
    print("wrote", exp["py_out"])


if __name__ == "__main__":
    main(*sys.argv[1:])
