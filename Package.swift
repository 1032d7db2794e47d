// swift-tools-version: 6.0
import PackageDescription

// Dependency direction is one way (see docs/ARCHITECTURE.md):
// executables → Hub/API → Attendance → RedisClient/WebSocket/HTTP/JSON → EventLoop → C targets.
// Each target lists exactly the modules its sources import (and nothing else).
let log = Target.Dependency.product(name: "Logging", package: "swift-log")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
// The hot-path modules are single-threaded by construction (one loop per thread); runtime
// exclusivity checks cost ~5 % of a message's CPU there, so release builds leave them to the compiler.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "attendance",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "attendance", targets: ["attendance"]),
        .executable(name: "attendance-load", targets: ["attendance-load"]),
        .executable(name: "EchoServer", targets: ["EchoServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CQREncode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),

        .target(name: "EventLoop", dependencies: ["CLibUV"], swiftSettings: hotPath),
        .target(name: "JSON", swiftSettings: hotPath),
        .target(name: "HTTP", dependencies: ["EventLoop", "COpenSSL", log]),
        .target(name: "WebSocket", dependencies: ["EventLoop", "COpenSSL"], swiftSettings: hotPath),
        .target(name: "RedisClient", dependencies: ["EventLoop", "CHiredis", "CLibUV", "COpenSSL", log]),
        .target(name: "Attendance", dependencies: ["RedisClient", "EventLoop", "JSON", "COpenSSL", log]),
        .target(name: "Hub", dependencies: ["Attendance", "WebSocket", "HTTP", "RedisClient", "EventLoop", "JSON", log], swiftSettings: hotPath),
        .target(name: "API", dependencies: ["Attendance", "HTTP", "RedisClient", "EventLoop", "JSON", "CQREncode", log],
                // The web pages: plain HTML, CSS and JS files, read once at start (PageAssets).
                resources: [.copy("Pages")]),
        .executableTarget(name: "attendance", dependencies: ["Hub", "API", "Attendance", "HTTP", "RedisClient", "EventLoop", argumentParser, log]),
        .executableTarget(
            name: "attendance-load",
            dependencies: ["EventLoop", "HTTP", "WebSocket", "JSON", "Attendance", argumentParser,
                           .product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "LoadTests"),
        // The Autobahn|TestSuite echo server: the WebSocket layer alone, nothing of the product.
        .executableTarget(name: "EchoServer", dependencies: ["EventLoop", "WebSocket"], path: "Examples/EchoServer"),

        // The test bundle's counting malloc (FanOutAllocationTests); see its source for why it is safe.
        .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
        .target(name: "TestSupport", dependencies: ["EventLoop", "HTTP", "WebSocket", "JSON", "COpenSSL"], path: "Tests/TestSupport"),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop", "TestSupport"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "EventLoop", "TestSupport"]),
        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket", "EventLoop", "TestSupport"]),
        .testTarget(name: "RedisClientTests", dependencies: ["RedisClient", "EventLoop", "TestSupport"]),
        .testTarget(name: "AttendanceTests", dependencies: ["Attendance", "RedisClient", "EventLoop", "JSON", "TestSupport"]),
        .testTarget(name: "HubTests", dependencies: ["Hub", "CAllocationCounter", "Attendance", "WebSocket", "RedisClient", "EventLoop", "JSON", "TestSupport"]),
        .testTarget(name: "APITests", dependencies: ["API", "Attendance", "HTTP", "RedisClient", "EventLoop", "JSON", "TestSupport"]),
        .testTarget(name: "LoadToolTests", dependencies: ["TestSupport"]),
        .testTarget(name: "FaultTests", dependencies: ["EventLoop", "JSON", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
