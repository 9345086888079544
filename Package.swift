// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Keel",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "keel", targets: ["keel"]),
        .library(name: "KeelCore", targets: ["KeelCore"]),
        .library(name: "KeelEngine", targets: ["KeelEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        .target(name: "KeelCore"),
        .target(
            name: "KeelEngine",
            dependencies: [
                "KeelCore",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .executableTarget(
            name: "keel",
            dependencies: [
                "KeelCore", "KeelEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "KeelCoreTests", dependencies: ["KeelCore"]),
        .testTarget(name: "KeelEngineTests", dependencies: ["KeelEngine"]),
    ],
    swiftLanguageModes: [.v6]
)
