package nblast

// Temporary: pins dependencies while parts are built in parallel. Remove once
// every dependency is imported by real code.
import (
	_ "cloud.google.com/go/storage"
	_ "github.com/apache/arrow/go/v15/parquet/pqarrow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/fsouza/fake-gcs-server/fakestorage"
)
