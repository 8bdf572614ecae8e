package pipeline

import (
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// MarshalledSize is the size in bytes of the job's pipeline marshalled as
// the Dataflow runner marshals it (graphx.Marshal of the built graph; the
// environment is a stand-in container image, a few bytes). Dataflow
// refuses job graphs over 10 MB; this one carries paths and options only,
// so its size does not grow with the number of neurons.
func (j *Job) MarshalledSize() (int, error) {
	edges, _, err := j.Pipeline.Build()
	if err != nil {
		return 0, fmt.Errorf("build the pipeline: %w", err)
	}
	env := &pipepb.Environment{Urn: graphx.URNEnvDocker, Payload: []byte("apache/beam_go_sdk")}
	model, err := graphx.Marshal(edges, &graphx.Options{Environment: env})
	if err != nil {
		return 0, fmt.Errorf("marshal the pipeline: %w", err)
	}
	return proto.Size(model), nil
}
