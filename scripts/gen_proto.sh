#!/usr/bin/env bash
# Regenerates Sources/KeelEngine/ONNX/Proto/onnx_subset.pb.swift from proto/onnx_subset.proto.
#
# The generated file is committed: CI and normal builds never run protoc or build the plugin.
# Needs protoc (Debian: apt-get install -y protobuf-compiler, 3.21) and swift-protobuf's
# protoc-gen-swift built from the package's own dependency, so the generated code matches the
# SwiftProtobuf runtime version in Package.resolved.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null; then
    echo "protoc not found: apt-get install -y protobuf-compiler" >&2
    exit 1
fi
swift build -c release --product protoc-gen-swift --scratch-path .build-protoc
plugin="$(swift build -c release --product protoc-gen-swift --scratch-path .build-protoc --show-bin-path)/protoc-gen-swift"

out=Sources/KeelEngine/ONNX/Proto
mkdir -p "$out"
protoc \
    --plugin=protoc-gen-swift="$plugin" \
    --swift_out="$out" \
    --swift_opt=Visibility=Internal \
    --swift_opt=FileNaming=DropPath \
    -I proto \
    proto/onnx_subset.proto
echo "wrote $out/onnx_subset.pb.swift ($(protoc --version))"
