// Package transportpb holds the generated gRPC code of the transport plugin
// protocol (transport.proto). Regenerate with `go generate ./plugin/proto`.
//
// Generated with protoc 3.21.12 (Debian protobuf-compiler), protoc-gen-go v1.36.12 and
// protoc-gen-go-grpc v1.5.1:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
package transportpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative transport.proto
