"""scipy's linkage and fcluster on a matrix, for the Go tests.

usage: linkage.py (--condensed FILE N | --scores CSV) --methods M,... --ks K,...

--condensed: N(N-1)/2 little-endian float64 distances (scipy's condensed
layout). --scores: a navis score CSV (header query,id,...; rows id,scores),
turned into distances as navis.nbl.make_linkage does. Prints JSON: for each
method, Z, the fcluster maxclust labels for each K, and the fcluster
distance labels at three heights between merge distances (also printed).
"""
import json
import sys

import numpy as np
import scipy
import scipy.cluster.hierarchy as sch
from scipy.spatial.distance import squareform


def main(argv):
    args = {argv[i]: argv[i + 1] for i in range(1, len(argv) - 1) if argv[i].startswith("--")}
    if "--condensed" in argv:
        i = argv.index("--condensed")
        d = np.fromfile(argv[i + 1], dtype="<f8")
        n = int(argv[i + 2])
        assert len(d) == n * (n - 1) // 2
    else:
        rows = [line.rstrip("\n").split(",") for line in open(args["--scores"])]
        x = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
        n = x.shape[0]
        # navis.nbl.make_linkage
        if any(x[0].round(5) != x[:, 0].round(5)):
            x = (x + x.T) / 2
        d = squareform(1 - x, checks=False)
    out = {"scipy": scipy.__version__, "n": n, "methods": {}}
    ks = [int(k) for k in args["--ks"].split(",")]
    for m in args["--methods"].split(","):
        Z = sch.linkage(d, method=m)
        hs = np.unique(Z[:, 2])
        heights = []
        for q in (0.25, 0.5, 0.75):
            i = min(int(q * (len(hs) - 1)), len(hs) - 2)
            heights.append(float((hs[i] + hs[i + 1]) / 2)) if len(hs) > 1 else None
        res = {"Z": Z.tolist(), "heights": heights}
        try:
            res["maxclust"] = {str(k): sch.fcluster(Z, k, criterion="maxclust").tolist() for k in ks}
            res["distance"] = [sch.fcluster(Z, h, criterion="distance").tolist() for h in heights]
        except ValueError as e:  # e.g. negative distances (scores > 1)
            res["error"] = str(e)
        out["methods"][m] = res
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
