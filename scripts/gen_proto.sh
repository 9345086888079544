#!/usr/bin/env bash
# Regenerates the committed protobuf code:
#   Sources/KeelEngine/ONNX/Proto/onnx_subset.pb.swift       from proto/onnx_subset.proto
#   Sources/KeelServer/GRPC/Generated/inference_grpc.pb.swift  (messages) and
#   Sources/KeelServer/GRPC/Generated/inference_grpc.grpc.swift (service) from proto/inference_grpc.proto
#
# The generated file is committed: CI and normal builds never run protoc or build the plugin.
# Needs protoc (Debian: apt-get install -y protobuf-compiler, 3.21) and swift-protobuf's
# protoc-gen-swift and protoc-gen-grpc-swift-2 built from the package's own dependencies, so the
# generated code matches the SwiftProtobuf and GRPCProtobuf runtimes in Package.resolved.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null; then
    echo "protoc not found: apt-get install -y protobuf-compiler" >&2
    exit 1
fi
swift build -c release --product protoc-gen-swift --scratch-path .build-protoc
swift build -c release --product protoc-gen-grpc-swift-2 --scratch-path .build-protoc
bin="$(swift build -c release --product protoc-gen-swift --scratch-path .build-protoc --show-bin-path)"
plugin="$bin/protoc-gen-swift"

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

out=Sources/KeelServer/GRPC/Generated
mkdir -p "$out"
protoc \
    --plugin=protoc-gen-swift="$plugin" \
    --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
    --swift_out="$out" \
    --swift_opt=Visibility=Internal \
    --swift_opt=FileNaming=DropPath \
    --grpc-swift-2_out="$out" \
    --grpc-swift-2_opt=Visibility=Internal \
    --grpc-swift-2_opt=FileNaming=DropPath \
    --grpc-swift-2_opt=Server=true \
    --grpc-swift-2_opt=Client=true \
    -I proto \
    proto/inference_grpc.proto
echo "wrote $out/inference_grpc.pb.swift and inference_grpc.grpc.swift"
