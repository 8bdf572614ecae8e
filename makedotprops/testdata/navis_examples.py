"""navis 1.12's dotprops and all-by-all NBLAST of SWC skeletons, for the Go tests.

usage: navis_examples.py SWC_DIR OUT.json

Reads every SWC file of SWC_DIR (sorted by name; the id is the file name
without .swc) as navis.example_neurons does (read_swc, units "8 nm", float32
coordinates), converts the nodes to µm as `runner dotprops --units "8 nm"`
does (float64, divided by 125), then navis.make_dotprops(nl, k=5,
resample=1) and navis.nblast_allbyall(dps) (forward, normalised, FCWB, one
core). Writes JSON: neurons (id, points, vect, alpha, in navis' order) and
aba (ids, values: rows queries, columns targets). Floats are Python's repr,
which round-trips float64 exactly.
"""
import json
import os
import sys

import numpy as np


def main(argv):
    import navis

    swc_dir, out = argv[1], argv[2]
    files = sorted(f for f in os.listdir(swc_dir) if f.endswith(".swc"))
    nl = navis.NeuronList([
        navis.read_swc(os.path.join(swc_dir, f), units="8 nm", id=int(f[:-4]))
        for f in files
    ])
    for n in nl:
        nodes = n.nodes.copy()
        for c in "xyz":
            nodes[c] = nodes[c].astype(np.float64) / 125
        n.nodes = nodes
        n.units = "1 micrometer"
    dps = navis.make_dotprops(nl, k=5, resample=1, progress=False)
    aba = navis.nblast_allbyall(dps, n_cores=1, progress=False)
    res = {
        "navis": navis.__version__,
        "neurons": [
            {
                "id": int(d.id),
                "points": np.asarray(d.points, dtype=np.float64).tolist(),
                "vect": np.asarray(d.vect, dtype=np.float64).tolist(),
                "alpha": np.asarray(d.alpha, dtype=np.float64).tolist(),
            }
            for d in dps
        ],
        "aba": {
            "queries": [int(i) for i in aba.index],
            "targets": [int(i) for i in aba.columns],
            "values": aba.to_numpy(dtype=np.float64).tolist(),
        },
    }
    with open(out, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main(sys.argv)
