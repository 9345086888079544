import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelRegistry
import KeelServing
import KeelTestSupport
import Logging
import Testing
@testable import KeelServer

/// The browser-facing edge (security headers, CORS, the Host allow-list), rate limits, and
/// which forwarded addresses are believed.
@Suite struct EdgeSecurityTests {
    static let infer = #"{"inputs":[{"name":"input","shape":[1,22],"datatype":"FP32","data":[40,1,50000,12,70,840,1,0,1,0,0,0,0,0,1,0,0,1,1,0,0,0]}]}"#

    @Test func everyResponseCarriesTheSecurityHeadersAndManagementIsNeverCached() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, keys) = try await TestServer.secured(manager)
        try await app.test(.router) { client in
            for (uri, key, status) in [("/v2/health/live", nil, 200), ("/api/v1/models", keys.viewer, 200), ("/api/v1/models", nil, 401), ("/nowhere", nil, 404)] {
                try await client.execute(uri: uri, method: .get, headers: TestServer.bearer(key)) { r in
                    #expect(r.status.code == status, "\(uri)")
                    #expect(r.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(uri)")
                    #expect(r.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(uri)")
                    #expect(r.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(uri)")
                    #expect(r.headers[HTTPField.Name("Strict-Transport-Security")!] == nil, "no HSTS without TLS")
                    #expect(r.headers[HTTPField.Name("Access-Control-Allow-Origin")!] == nil, "CORS is off by default")
                    if uri.hasPrefix("/api/") { #expect(r.headers[.cacheControl] == "no-store", "\(uri)") }
                }
            }
            // CORS off: a preflight is not answered as one.
            var h = HTTPFields()
            h[HTTPField.Name("Origin")!] = "https://evil.example"
            h[HTTPField.Name("Access-Control-Request-Method")!] = "POST"
            try await client.execute(uri: "/v2/models/churn/infer", method: .options, headers: h) { r in
                #expect(r.headers[HTTPField.Name("Access-Control-Allow-Origin")!] == nil)
                #expect(r.status.code != 204)
            }
        }
    }

    @Test func corsPreflightIsAnsweredForAllowedOriginsAndRefusedForOthers() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, keys) = try await TestServer.secured(manager) { $0.corsOrigins = ["https://app.example.com"] }
        try await app.test(.router) { client in
            func preflight(_ origin: String, _ method: String) -> HTTPFields {
                var h = HTTPFields()
                h[HTTPField.Name("Origin")!] = origin
                h[HTTPField.Name("Access-Control-Request-Method")!] = method
                h[HTTPField.Name("Access-Control-Request-Headers")!] = "authorization, content-type"
                return h
            }
            try await client.execute(uri: "/api/v1/models", method: .options, headers: preflight("https://app.example.com", "GET")) { r in
                #expect(r.status == .noContent)
                #expect(r.headers[HTTPField.Name("Access-Control-Allow-Origin")!] == "https://app.example.com")
                #expect(r.headers[HTTPField.Name("Access-Control-Allow-Methods")!]?.contains("POST") == true)
                #expect(r.headers[HTTPField.Name("Access-Control-Allow-Headers")!]?.contains("Authorization") == true)
                #expect(r.headers[HTTPField.Name("Access-Control-Max-Age")!] == "600")
                #expect(r.headers[HTTPField.Name("Vary")!] == "Origin")
                #expect(r.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            }
            try await client.execute(uri: "/api/v1/models", method: .options, headers: preflight("https://evil.example", "GET")) { r in
                #expect(r.status == .forbidden)
                #expect(r.headers[HTTPField.Name("Access-Control-Allow-Origin")!] == nil)
                let error = String(buffer: r.body)
                #expect(error.contains("origin"))
            }
            try await client.execute(uri: "/api/v1/models", method: .options, headers: preflight("https://app.example.com", "TRACE")) { r in
                #expect(r.status == .forbidden)
            }
            // A real cross-origin call from the allowed origin gets the headers; another origin does not.
            var h = TestServer.bearer(keys.viewer)
            h[HTTPField.Name("Origin")!] = "https://app.example.com"
            try await client.execute(uri: "/api/v1/models", method: .get, headers: h) { r in
                #expect(r.status == .ok)
                #expect(r.headers[HTTPField.Name("Access-Control-Allow-Origin")!] == "https://app.example.com")
                #expect(r.headers[HTTPField.Name("Access-Control-Expose-Headers")!]?.contains("Retry-After") == true)
            }
            h[HTTPField.Name("Origin")!] = "https://evil.example"
            try await client.execute(uri: "/api/v1/models", method: .get, headers: h) { r in
                #expect(r.headers[HTTPField.Name("Access-Control-Allow-Origin")!] == nil)
            }
        }
    }

    @Test func theHostAllowListRefusesOtherHostsButNotProbes() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, _) = try await TestServer.secured(manager) { $0.allowedHosts = ["keel.example.com", "*.svc.cluster.local"] }
        try await app.test(.router) { client in
            for (host, status) in [("keel.example.com", 200), ("KEEL.example.com:8080", 200), ("keel.ns.svc.cluster.local", 200), ("attacker.example", 421), ("keel.example.com.evil", 421)] {
                try await client.execute(uri: "/v2", method: .get, headers: [HTTPField.Name("Host")!: host]) { r in
                    #expect(r.status.code == status, "\(host)")
                    if status == 421 { #expect(String(buffer: r.body).contains("not served here")) }
                }
            }
            try await client.execute(uri: "/v2/health/live", method: .get, headers: [HTTPField.Name("Host")!: "10.1.2.3:8080"]) { r in
                #expect(r.status == .ok)
            }
        }
    }

    @Test func inferenceOverTheLimitGets429WithRetryAfterAndRateLimitHeaders() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, keys) = try await TestServer.secured(manager) {
            $0.inferenceRateLimit = RateLimit(rate: 0.01, burst: 3)
            $0.managementRateLimit = RateLimit(rate: 0.01, burst: 2)
        }
        try await app.test(.router) { client in
            // Anonymous inference: one bucket for the (unknown, in-process) address.
            for i in 0..<3 {
                try await client.execute(uri: "/v2/models/churn/infer", method: .post, headers: TestServer.bearer(nil), body: TestServer.body(Self.infer)) { r in
                    #expect(r.status == .ok)
                    #expect(r.headers[HTTPField.Name("RateLimit-Limit")!] == "3")
                    #expect(r.headers[HTTPField.Name("RateLimit-Remaining")!] == String(2 - i))
                    #expect(Int(r.headers[HTTPField.Name("RateLimit-Reset")!] ?? "") ?? 0 > 0)
                }
            }
            try await client.execute(uri: "/v2/models/churn/infer", method: .post, headers: TestServer.bearer(nil), body: TestServer.body(Self.infer)) { r in
                #expect(r.status == .tooManyRequests)
                #expect(Int(r.headers[.retryAfter] ?? "") ?? 0 >= 1)
                #expect(r.headers[HTTPField.Name("RateLimit-Remaining")!] == "0")
                #expect(String(buffer: r.body).contains("too many inference requests"))
            }
            // Probes and metrics are never limited.
            for _ in 0..<10 {
                try await client.execute(uri: "/v2/health/ready", method: .get) { r in #expect(r.status != .tooManyRequests) }
            }
            // Management: a bucket per key; another key is not affected.
            for _ in 0..<2 {
                try await client.execute(uri: "/api/v1/models", method: .get, headers: TestServer.bearer(keys.viewer)) { r in #expect(r.status == .ok) }
            }
            try await client.execute(uri: "/api/v1/models", method: .get, headers: TestServer.bearer(keys.viewer)) { r in
                #expect(r.status == .tooManyRequests)
                #expect(r.headers[.retryAfter] != nil)
            }
            try await client.execute(uri: "/api/v1/models", method: .get, headers: TestServer.bearer(keys.admin)) { r in #expect(r.status == .ok) }
            // Wrong keys are charged to the address: guessing is limited too.
            var codes: [UInt] = []
            for _ in 0..<4 {
                try await client.execute(uri: "/api/v1/models", method: .get, headers: TestServer.bearer("keel_wrong")) { r in codes.append(UInt(r.status.code)) }
            }
            #expect(codes == [401, 401, 429, 429])
            try await client.execute(uri: "/metrics", method: .get) { r in
                let text = String(buffer: r.body)
                #expect(text.contains(#"keel_rate_limited_total{class="inference"} 1"#))
                #expect(text.contains(#"keel_rate_limited_total{class="management"} 3"#))
            }
        }
    }

    @Test func tokenBucketsRefillAtTheirRateAndTheTableStaysBounded() {
        let limiter = RateLimiter(RateLimit(rate: 2, burst: 4), maxCallers: 16)
        for _ in 0..<4 { #expect(limiter.take("a", now: 0).allowed) }
        let refused = limiter.take("a", now: 0)
        #expect(!refused.allowed)
        #expect(refused.retryAfterSeconds == 1)
        #expect(refused.resetSeconds == 2)
        #expect(limiter.take("a", now: 0.5).allowed, "half a second at 2/s gives one token back")
        #expect(!limiter.take("a", now: 0.5).allowed)
        #expect(limiter.take("a", now: 100).remaining == 3, "never more than the burst")
        // Many callers: the table is pruned, never grows past its bound.
        for i in 0..<1000 { _ = limiter.take("caller\(i)", now: 200) }
        #expect(limiter.take("fresh", now: 200).allowed)
        #expect(limiter.count <= 16)
    }

    @Test func rateLimitSettingsAreParsedAndBounded() throws {
        #expect(try RateLimit(parsing: "50") == RateLimit(rate: 50, burst: 50))
        #expect(try RateLimit(parsing: "0.5:10") == RateLimit(rate: 0.5, burst: 10))
        #expect(try RateLimit(parsing: "0.2") == RateLimit(rate: 0.2, burst: 1))
        for bad in ["", "-1", "0", "nan", "inf", "1e300", "5:0", "5:-3", "5:x", "5:99999999999", String(repeating: "9", count: 100)] {
            #expect(throws: KeelError.self, "\(bad)") { try RateLimit(parsing: bad) }
        }
        var flags = ServerConfiguration.Flags()
        flags.inferenceRateLimit = "100:200"
        flags.corsOrigins = ["https://app.example.com", "*"]
        flags.trustedProxies = ["10.0.0.0/8", "::1"]
        let env = ["KEEL_MANAGEMENT_RATE_LIMIT": "5", "KEEL_ALLOWED_HOSTS": "keel.example.com, *.internal"]
        let c = try ServerConfiguration.resolve(flags: flags, environment: env, file: [:], defaultRepositoryExists: false)
        #expect(c.inferenceRateLimit == RateLimit(rate: 100, burst: 200))
        #expect(c.managementRateLimit == RateLimit(rate: 5, burst: 5))
        #expect(c.corsOrigins == ["https://app.example.com", "*"])
        #expect(c.allowedHosts == ["keel.example.com", "*.internal"])
        #expect(c.trustedProxies.map(\.description) == ["10.0.0.0/8", "::1"])
        let file: [String: Any] = ["cors_origins": ["https://a.example"], "trusted_proxies": "192.168.0.0/16", "inference_rate_limit": 7]
        let f = try ServerConfiguration.resolve(flags: .init(), environment: [:], file: file, defaultRepositoryExists: false)
        #expect(f.corsOrigins == ["https://a.example"])
        #expect(f.trustedProxies.count == 1)
        #expect(f.inferenceRateLimit == RateLimit(rate: 7, burst: 7))
        for (key, value) in [
            ("KEEL_CORS_ORIGINS", "app.example.com"), ("KEEL_CORS_ORIGINS", "https://a.example/path"), ("KEEL_CORS_ORIGINS", "ftp://a.example"),
            ("KEEL_TRUSTED_PROXIES", "10.0.0.0/33"), ("KEEL_TRUSTED_PROXIES", "proxy.internal"), ("KEEL_ALLOWED_HOSTS", "a.example:8080"),
            ("KEEL_ALLOWED_HOSTS", "a b"), ("KEEL_INFERENCE_RATE_LIMIT", "fast"),
            ("KEEL_TRUSTED_PROXIES", Array(repeating: "10.0.0.1", count: 300).joined(separator: ",")),
        ] {
            #expect(throws: KeelError.self, "\(key)=\(value.prefix(40))") {
                try ServerConfiguration.resolve(flags: .init(), environment: [key: value], file: [:], defaultRepositoryExists: false)
            }
        }
    }

    @Test func addressesAndBlocksAreMatchedAcrossFamilies() throws {
        let v4 = try #require(IPRange("10.0.0.0/8"))
        #expect(v4.contains("10.200.3.4"))
        #expect(v4.contains("::ffff:10.1.1.1"), "an IPv4-mapped address is the IPv4 address")
        #expect(!v4.contains("11.0.0.1"))
        #expect(!v4.contains("fd00::1"))
        let v6 = try #require(IPRange("fd00::/8"))
        #expect(v6.contains("fd12:3456::1"))
        #expect(!v6.contains("fe80::1"))
        #expect(try #require(IPRange("127.0.0.1")).contains("127.0.0.1"))
        #expect(!(try #require(IPRange("127.0.0.1"))).contains("127.0.0.2"))
        #expect(try #require(IPRange("0.0.0.0/0")).contains("8.8.8.8"))
        #expect(try #require(IPRange("fe80::1%eth0")).contains("fe80::1"))
        for bad in ["", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "10.0.0.256", "::/129", "1.2.3", "example.com", String(repeating: "1", count: 200), "10.0.0.0/0008"] {
            #expect(IPRange(bad) == nil, "\(bad)")
        }
    }

    @Test func forwardedAddressesAreBelievedOnlyFromTrustedProxies() throws {
        let proxies = TrustedProxies([try #require(IPRange("10.0.0.0/8"))])
        func headers(_ pairs: [(String, String)]) -> HTTPFields {
            var h = HTTPFields()
            for (name, value) in pairs { h.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
            return h
        }
        // An untrusted peer's own header is ignored.
        #expect(proxies.client(peer: "203.0.113.9", headers: headers([("X-Forwarded-For", "1.2.3.4")])) == "203.0.113.9")
        // From a trusted proxy: the nearest untrusted hop, so a client cannot prepend its own.
        #expect(proxies.client(peer: "10.0.0.2", headers: headers([("X-Forwarded-For", "6.6.6.6, 198.51.100.7, 10.0.0.5")])) == "198.51.100.7")
        #expect(proxies.client(peer: "10.0.0.2", headers: headers([("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "198.51.100.7")])) == "198.51.100.7")
        #expect(proxies.client(peer: "10.0.0.2", headers: headers([])) == "10.0.0.2")
        #expect(proxies.client(peer: "10.0.0.2", headers: headers([("X-Forwarded-For", "not-an-address")])) == "10.0.0.2")
        // RFC 7239 Forwarded wins over X-Forwarded-For; quoted, ported and bracketed forms.
        #expect(proxies.client(peer: "10.0.0.2", headers: headers([("Forwarded", #"for="[2001:db8::7]:4711";proto=https"#), ("X-Forwarded-For", "6.6.6.6")])) == "2001:db8::7")
        #expect(proxies.client(peer: "10.0.0.2", headers: headers([("Forwarded", "for=192.0.2.60:8080;by=10.0.0.2, for=10.0.0.9")])) == "192.0.2.60")
        #expect(proxies.client(peer: nil, headers: headers([("X-Forwarded-For", "1.2.3.4")])) == "unknown")
        // Hostile: a huge header is bounded and never trusted into a crash.
        let long = Array(repeating: "1.2.3.4", count: 5000).joined(separator: ",")
        #expect(proxies.client(peer: "10.0.0.2", headers: headers([("X-Forwarded-For", long)])) == "10.0.0.2")
        #expect(TrustedProxies([]).client(peer: "10.0.0.2", headers: headers([("X-Forwarded-For", "1.2.3.4")])) == "10.0.0.2")
    }

    @Test func aLiveServerLimitsByTheForwardedClientOnlyBehindATrustedProxy() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let manager = try await TestServer.manager()
        for trusted in [true, false] {
            var configuration = ServerConfiguration()
            configuration.inferenceRateLimit = RateLimit(rate: 0.01, burst: 1)
            configuration.trustedProxies = trusted ? [try #require(IPRange("127.0.0.1"))] : []
            let app = Application(
                router: KeelApplication.router(manager: manager, configuration: configuration),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
            try await app.test(.live) { client in
                var codes: [UInt] = []
                for client_ in ["198.51.100.1", "198.51.100.2", "198.51.100.1"] {
                    var h = TestServer.bearer(nil)
                    h[HTTPField.Name("X-Forwarded-For")!] = client_
                    try await client.execute(uri: "/v2/models/churn/infer", method: .post, headers: h, body: TestServer.body(Self.infer)) { r in
                        codes.append(UInt(r.status.code))
                    }
                }
                // Trusted: two clients, the first one's second call is limited. Untrusted: all
                // three come from 127.0.0.1, whatever they claim.
                #expect(codes == (trusted ? [200, 200, 429] : [200, 429, 429]), "trusted \(trusted)")
            }
        }
    }
}
