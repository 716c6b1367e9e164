// Package deploytest holds the tests of the manifests under deploy/: the
// kustomize base, overlays and sidecar (rendered with kustomize's library)
// and the Helm chart (rendered with Helm's library), each object validated
// with kubeconform against the schemas in deploy/schemas.
//
// It is a Go module of its own so that kustomize, kubeconform and Helm, which
// only these tests use, stay out of the binary's module graph. It does not
// import the binary's packages: where a test needs the binary (its flag
// parser and `check config` on the configuration a manifest mounts), it
// builds cmd/train-prometheus from the same checkout and runs it.
//
// Run with `make test` from the repository root, or `go test ./...` here.
package deploytest
