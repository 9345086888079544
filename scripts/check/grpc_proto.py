#!/usr/bin/env python3
"""Checks proto/inference_grpc.proto against the descriptors compiled into tritonclient.

Every message, field, enum value and RPC Keel declares must exist in tritonclient's
grpc_service.proto / model_config.proto under the same full name, with the same number, type,
label and message type; every RPC must have the same request/response types and streaming.
Prints each mismatch and exits 1 if there is any.

    protoc -I proto --include_imports --descriptor_set_out=/tmp/keel.pb proto/inference_grpc.proto
    python scripts/check/grpc_proto.py /tmp/keel.pb
Needs tritonclient[grpc] (scripts/clients/requirements.txt).
"""
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

from google.protobuf import descriptor_pb2
from tritonclient.grpc import service_pb2  # noqa: F401  (registers grpc_service.proto)
from google.protobuf import descriptor_pool


def main() -> int:
    ours = descriptor_pb2.FileDescriptorSet()
    with open(sys.argv[1], "rb") as f:
        ours.ParseFromString(f.read())
    pool = descriptor_pool.Default()
    problems, checked = [], 0

    def walk_messages(prefix, messages):
        nonlocal checked
        for m in messages:
            full = f"{prefix}.{m.name}"
            try:
                theirs = pool.FindMessageTypeByName(full)
            except KeyError:
                problems.append(f"message {full}: not in tritonclient")
                continue
            for field in m.field:
                checked += 1
                t = theirs.fields_by_name.get(field.name)
                if t is None:
                    problems.append(f"{full}.{field.name}: no such field in tritonclient")
                    continue
                if t.number != field.number:
                    problems.append(f"{full}.{field.name}: number {field.number}, tritonclient {t.number}")
                if t.type != field.type:
                    problems.append(f"{full}.{field.name}: type {field.type}, tritonclient {t.type}")
                if t.label != field.label:
                    problems.append(f"{full}.{field.name}: label {field.label}, tritonclient {t.label}")
                if field.type_name:
                    theirs_type = (t.message_type or t.enum_type).full_name
                    if field.type_name.lstrip(".") != theirs_type:
                        problems.append(f"{full}.{field.name}: of {field.type_name}, tritonclient {theirs_type}")
                if field.HasField("oneof_index"):
                    name = m.oneof_decl[field.oneof_index].name
                    if t.containing_oneof is None or t.containing_oneof.name != name:
                        problems.append(f"{full}.{field.name}: in oneof {name}, tritonclient differs")
            walk_enums(full, m.enum_type)
            walk_messages(full, [n for n in m.nested_type if not n.options.map_entry])

    def walk_enums(prefix, enums):
        nonlocal checked
        for e in enums:
            full = f"{prefix}.{e.name}"
            try:
                theirs = pool.FindEnumTypeByName(full)
            except KeyError:
                problems.append(f"enum {full}: not in tritonclient")
                continue
            for v in e.value:
                checked += 1
                t = theirs.values_by_name.get(v.name)
                if t is None or t.number != v.number:
                    problems.append(f"{full}.{v.name} = {v.number}: tritonclient has {t.number if t else 'none'}")

    for file in ours.file:
        prefix = "." + file.package if file.package else ""
        prefix = prefix.lstrip(".")
        walk_messages(prefix, file.message_type)
        walk_enums(prefix, file.enum_type)
        for service in file.service:
            theirs = pool.FindServiceByName(f"{prefix}.{service.name}")
            for method in service.method:
                checked += 1
                t = theirs.methods_by_name.get(method.name)
                if t is None:
                    problems.append(f"rpc {method.name}: not in tritonclient")
                    continue
                if method.input_type.lstrip(".") != t.input_type.full_name or method.output_type.lstrip(".") != t.output_type.full_name:
                    problems.append(f"rpc {method.name}: types differ")
                if method.client_streaming != t.client_streaming or method.server_streaming != t.server_streaming:
                    problems.append(f"rpc {method.name}: streaming differs")
    for p in problems:
        print("MISMATCH", p)
    print(f"{checked} fields, values and RPCs checked, {len(problems)} mismatches")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
