"""scipy's k nearest neighbours and numpy's tangents as navis.make_dotprops
computes them, for the Go tests.

usage: knn.py IN.json OUT.json

IN: a list of cases {"name", "k", "points": [[x, y, z], ...]} (finite
points). For each, as navis 1.12's make_dotprops: k = min(k, n),
cKDTree(points) with its defaults, query(points, k=k), then the
neighbourhoods' centres (np.mean), scatter matrices and np.linalg.svd.
OUT: {"scipy", "numpy", "cases": [{"name", "k", "ix", "dist", "vect", "s",
"alpha"}]}, floats as Python's repr (exact), NaN as null.
"""
import json
import sys

import numpy as np
import scipy
from scipy.spatial import cKDTree


def nulls(a):
    return [None if np.isnan(v) else float(v) for v in a]


def main(argv):
    with open(argv[1]) as f:
        cases = json.load(f)
    out = []
    for c in cases:
        x = np.array(c["points"], dtype=np.float64).reshape(-1, 3)
        k = min(int(c["k"]), x.shape[0])
        tree = cKDTree(x)
        dist, ix = tree.query(x, k=k)
        dist, ix = dist.reshape(x.shape[0], k), ix.reshape(x.shape[0], k)
        pt = x[ix]
        centers = np.mean(pt, axis=1)
        cpt = pt - centers.reshape((pt.shape[0], 1, 3))
        inertia = cpt.transpose((0, 2, 1)) @ cpt
        _, s, vh = np.linalg.svd(inertia)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = (s[:, 0] - s[:, 1]) / np.sum(s, axis=1)
        out.append({
            "name": c["name"],
            "k": k,
            "ix": ix.tolist(),
            "dist": dist.tolist(),
            "vect": vh[:, 0, :].tolist(),
            "s": s.tolist(),
            "alpha": nulls(alpha),
        })
    with open(argv[2], "w") as f:
        json.dump({"scipy": scipy.__version__, "numpy": np.__version__, "cases": out}, f)


if __name__ == "__main__":
    main(sys.argv)
