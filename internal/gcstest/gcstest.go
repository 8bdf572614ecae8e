// Package gcstest runs an in-process fake Google Cloud Storage server
// (github.com/fsouza/fake-gcs-server) for tests, so gs:// paths are tested
// without reaching a real cloud. Import it from _test.go files only.
package gcstest

import (
	"net/url"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// Start starts a fake GCS server on 127.0.0.1 (a free port) holding the
// named empty buckets, points STORAGE_EMULATOR_HOST at it for the rest of
// the test (t.Setenv, so the test must not be parallel) and stops it in
// t.Cleanup. It returns the server's host:port.
//
// Every storage client created while the variable is set talks to the
// fake server: cloud.google.com/go/storage reads STORAGE_EMULATOR_HOST when
// a client is created, and internal/files keeps its clients per emulator
// host.
func Start(t testing.TB, buckets ...string) (emulatorHost string) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http",
		Host:   "127.0.0.1",
		Port:   0, // httptest picks a free port on 127.0.0.1
		// Reads go through GCS' XML API at http://HOST/BUCKET/OBJECT;
		// the fake server serves that path style only for requests to its
		// public host (the port is ignored when PublicHost has none).
		PublicHost: "127.0.0.1",
	})
	if err != nil {
		t.Fatalf("start fake GCS server: %v", err)
	}
	t.Cleanup(srv.Stop)
	for _, b := range buckets {
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatalf("fake GCS server URL %q: %v", srv.URL(), err)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", u.Host)
	return u.Host
}
