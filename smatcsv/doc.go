// Package smatcsv reads and writes scoring matrices in navis' CSV layout
// (smat_fcwb.csv, Lookup2d.to_dataframe().to_csv(), nat.nblast's
// smat.fcwb written by write.csv): the |dot| bins across, the distance
// bins (µm) down, each bin labelled by its interval "(lo,hi]". It is the
// file format of runner --smat and of runner smat's output; the matrix
// itself, its binning and the built-in tables are the kernel's
// (scoring.Matrix, scoring.FCWB).
package smatcsv
