"""nblast_go: nblast-go's NBLAST from Python, for navis users.

    import navis
    from nblast_go import nblast_disk, nblast_sparse, nblast_knn
    scores = nblast_disk(queries, targets, out="./nblast_results", return_frame=True)  # Dask DataFrame over the Zarr array
    scores = scores.compute()
    scores = nblast_sparse(queries, targets, threshold=0)   # pandas DataFrame, Sparse[float32, nan] columns
    top = nblast_knn(queries, targets, k=20)                 # query, rank, target, score

queries / targets are navis Dotprops (one, or a NeuronList), a DataFrame
in navis' dotprops Parquet layout, or the path of dotprops Parquet files.
Each call runs the real pipeline, the `runner` binary (on PATH, given as
runner=..., $NBLAST_RUNNER, or built from this checkout), with a tqdm
progress bar; Ctrl-C stops it cleanly (the output is resumable with
exists="resume"); its first error line is raised as NblastError. Needs
numpy and pandas (zarr for nblast_disk, dask for return_frame, scipy for
nblast_sparse); no pyarrow.
"""

from ._api import nblast_disk, nblast_knn, nblast_sparse
from ._run import NblastError, find_runner

__all__ = ["nblast_disk", "nblast_sparse", "nblast_knn", "NblastError", "find_runner", "read"]
__version__ = "0.1.0"


def read(out, what=None, **kw):
    """An output directory as pandas (nblast_results.read: what="scores",
    "sparse" or "topk"; runner= for the CSV route without pyarrow)."""
    import nblast_results
    kw.setdefault("runner", find_runner(kw.get("runner")))
    return nblast_results.read(out, what=what, **kw)
