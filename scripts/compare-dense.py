"""Compare two dense NBLAST outputs by id, with zarr-python (Debian's).

    python3 scripts/compare-dense.py A B [ARRAY ...]

Each array (default: scores) of the Zarr group A is compared with B's,
pair by pair by (query id, target id) from the arrays' attrs "queries"
and "targets": the rows and columns may be in other orders (an output of
--exists update keeps the earlier order, then the new neurons). Prints
one line per array and exits 1 if any differs: other ids, or values not
bit for bit the same (NaN equal to NaN).
"""
import sys

import numpy as np
import zarr


def by_id(group, name):
    z = zarr.open_array(f"{group}/{name}", mode="r")
    q, t = list(z.attrs["queries"]), list(z.attrs["targets"])
    a = z[:]
    qo = sorted(range(len(q)), key=lambda i: (isinstance(q[i], str), q[i]))
    to = sorted(range(len(t)), key=lambda i: (isinstance(t[i], str), t[i]))
    return [q[i] for i in qo], [t[i] for i in to], a[np.ix_(qo, to)], z.attrs.get("complete")


def main():
    a, b, *names = sys.argv[1:]
    bad = False
    for name in names or ["scores"]:
        qa, ta, va, ca = by_id(a, name)
        qb, tb, vb, cb = by_id(b, name)
        if qa != qb or ta != tb:
            print(f"{name}: DIFFERENT ids ({len(qa)}x{len(ta)} vs {len(qb)}x{len(tb)})")
            bad = True
            continue
        same = va.dtype == vb.dtype and np.array_equal(va.view(f"u{va.itemsize}"), vb.view(f"u{vb.itemsize}"))
        diff = int(np.count_nonzero(~((va == vb) | (np.isnan(va) & np.isnan(vb)))))
        print(f"{name}: {va.shape[0]}x{va.shape[1]} {va.dtype}, complete {ca}/{cb}: "
              + ("equal, bit for bit, by id" if same else f"DIFFERENT ({diff} values)"))
        bad = bad or not same or ca is not True or cb is not True
    sys.exit(1 if bad else 0)


main()
