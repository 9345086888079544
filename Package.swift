// swift-tools-version:6.0
import PackageDescription

#if arch(x86_64)
let avx2Settings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"]), .define("KEEL_FMA")]
#else
let avx2Settings: [SwiftSetting] = []
#endif

let package = Package(
    name: "Keel",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "keel", targets: ["keel"]),
        .executable(name: "keel-echo", targets: ["keel-echo"]),
        .library(name: "KeelCore", targets: ["KeelCore"]),
        .library(name: "KeelEngine", targets: ["KeelEngine"]),
        .library(name: "KeelStore", targets: ["KeelStore"]),
        .library(name: "KeelRegistry", targets: ["KeelRegistry"]),
        .library(name: "KeelMonitoring", targets: ["KeelMonitoring"]),
        .library(name: "KeelServing", targets: ["KeelServing"]),
        .library(name: "KeelJobs", targets: ["KeelJobs"]),
        .library(name: "KeelServer", targets: ["KeelServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    ],
    targets: [
        .target(name: "KeelCore"),
        // The matrix microkernel, compiled for the baseline CPU and, on x86-64, again for
        // AVX2+FMA (same source through a symbolic link); the engine picks one at run time.
        .target(name: "CKeelSupport"),
        .target(name: "KeelKernels"),
        .target(name: "KeelKernelsAVX2", swiftSettings: avx2Settings),
        .target(
            name: "KeelEngine",
            dependencies: [
                "KeelCore", "KeelKernels", "KeelKernelsAVX2",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(
            name: "KeelStore",
            dependencies: [
                "KeelCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "KeelRegistry",
            dependencies: [
                "KeelCore", "KeelStore",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "KeelMonitoring",
            dependencies: [
                "KeelCore", "KeelStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "KeelServing",
            dependencies: [
                "KeelCore", "KeelEngine", "KeelStore", "KeelRegistry", "KeelMonitoring",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // zlib from the system (Debian's zlib1g-dev) for gzip-compressed batch files.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(
            name: "KeelJobs",
            dependencies: [
                "KeelCore", "KeelStore", "KeelRegistry", "KeelServing", "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "KeelServer",
            dependencies: [
                "KeelCore", "KeelEngine", "KeelStore", "KeelRegistry", "KeelMonitoring", "KeelServing", "KeelJobs",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .executableTarget(
            name: "keel",
            dependencies: [
                "KeelCore", "KeelEngine", "KeelStore", "KeelRegistry", "KeelMonitoring", "KeelServing", "KeelJobs", "KeelServer", "CKeelSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The bare Hummingbird baseline of scripts/bench/http.sh.
        .executableTarget(name: "keel-echo", dependencies: [.product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(name: "KeelCoreTests", dependencies: ["KeelCore"]),
        .testTarget(name: "KeelMonitoringTests", dependencies: ["KeelMonitoring", "KeelCore", "KeelStore", "KeelServing", "KeelTestSupport"]),
        .testTarget(name: "KeelServingTests", dependencies: ["KeelServing", "KeelRegistry", "KeelCore", "KeelEngine"]),
        .testTarget(
            name: "KeelEngineTests",
            dependencies: ["KeelEngine", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(name: "KeelTestSupport", dependencies: ["KeelCore", "KeelStore", "KeelRegistry"], path: "Tests/KeelTestSupport"),
        .testTarget(name: "KeelJobsTests", dependencies: ["KeelJobs", "KeelServing", "KeelRegistry", "KeelStore", "KeelCore", "KeelEngine", "KeelTestSupport"]),
        .testTarget(name: "KeelStoreTests", dependencies: ["KeelStore", "KeelTestSupport"]),
        .testTarget(name: "KeelRegistryTests", dependencies: ["KeelRegistry", "KeelStore", "KeelServing", "KeelTestSupport"]),
        .testTarget(
            name: "KeelCLITests",
            dependencies: [
                "keel", "KeelServer", "KeelServing", "KeelRegistry", "KeelMonitoring", "KeelJobs", "KeelTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "KeelServerTests",
            dependencies: [
                "KeelServer", "KeelServing", "KeelRegistry", "KeelStore", "KeelTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
