package sinks

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/scoring"
)

// WriteClusters writes OUT/clusters/ (runner cluster's output): clusters.csv, clusters.parquet,
// linkage.csv (scipy's Z: a, b, distance, size; when linkage is not nil) and clusters.json (info)
// last; a linkage.csv
// of an earlier hierarchical run is removed after a graph run.
func WriteClusters(ctx context.Context, out string, ids []scoring.ID, labels []int, linkage [][4]float64, info any) error {
	dir := files.Join(out, ClustersDir)
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"neuron", "cluster"})
	for i, id := range ids {
		cw.Write([]string{id.String(), strconv.Itoa(labels[i])})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	if err := files.WriteFile(ctx, files.Join(dir, "clusters.csv"), buf.Bytes()); err != nil {
		return err
	}
	pq, err := clustersParquet(ids, labels)
	if err != nil {
		return err
	}
	if err := files.WriteFile(ctx, files.Join(dir, "clusters.parquet"), pq); err != nil {
		return err
	}
	keep := []string{"clusters.csv", "clusters.parquet", "clusters.json"}
	if linkage != nil {
		buf.Reset()
		cw := csv.NewWriter(&buf)
		cw.Write([]string{"a", "b", "distance", "size"})
		for _, m := range linkage {
			cw.Write([]string{strconv.Itoa(int(m[0])), strconv.Itoa(int(m[1])), strconv.FormatFloat(m[2], 'g', -1, 64), strconv.Itoa(int(m[3]))})
		}
		cw.Flush()
		if err := files.WriteFile(ctx, files.Join(dir, "linkage.csv"), buf.Bytes()); err != nil {
			return err
		}
		keep = append(keep, "linkage.csv")
	}
	js, err := files.MarshalJSON(info)
	if err != nil {
		return err
	}
	if err := files.WriteFile(ctx, files.Join(dir, "clusters.json"), js); err != nil {
		return err
	}
	return files.RemoveAll(ctx, dir, keep...)
}

// clustersParquet encodes the columns neuron (INT64 or STRING, as the
// ids) and cluster (INT64) as every Parquet file here (encodeRecord).
func clustersParquet(ids []scoring.ID, labels []int) ([]byte, error) {
	idType := arrow.DataType(arrow.PrimitiveTypes.Int64)
	if len(ids) > 0 && ids[0].IsStr {
		idType = arrow.BinaryTypes.String
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "neuron", Type: idType}, {Name: "cluster", Type: arrow.PrimitiveTypes.Int64}}, nil)
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, id := range ids {
		if id.IsStr != ids[0].IsStr {
			return nil, fmt.Errorf("ids mix int64 and string kinds (%s, %s): a Parquet column holds one kind", ids[0], id)
		}
		appendID(b.Field(0), id)
		b.Field(1).(*array.Int64Builder).Append(int64(labels[i]))
	}
	return encodeRecord(mem, schema, b)
}
