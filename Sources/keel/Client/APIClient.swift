import ArgumentParser
import AsyncHTTPClient
import Foundation
import KeelCore
import NIOCore
import NIOHTTP1

/// Options every client command shares: where the server is, and JSON output.
struct ClientOptions: ParsableArguments {
    @Option(help: "Keel server URL (default $KEEL_SERVER or http://127.0.0.1:8080). The API key comes from $KEEL_API_KEY, a JWT from $KEEL_TOKEN.")
    var server: String?

    @Option(name: .customLong("api-key"), help: "API key (default $KEEL_API_KEY; prefer the environment: command lines are visible to other users).")
    var apiKey: String?

    @Option(help: "A JWT bearer token from your identity provider, instead of an API key (default $KEEL_TOKEN; prefer the environment).")
    var token: String?

    @Flag(help: "Print the server's JSON instead of a table.")
    var json = false

    func client() -> APIClient {
        let env = ProcessInfo.processInfo.environment
        let base = server ?? env["KEEL_SERVER"] ?? "http://127.0.0.1:8080"
        return APIClient(base: base.hasSuffix("/") ? String(base.dropLast()) : base, key: Self.bearer(token: token, apiKey: apiKey, env: env))
    }

    /// The bearer to send: a flag before the environment, and a token before a key at the same level.
    static func bearer(token: String?, apiKey: String?, env: [String: String]) -> String? {
        [token, apiKey, env["KEEL_TOKEN"], env["KEEL_API_KEY"]].lazy.compactMap { $0 }.first { !$0.isEmpty }
    }
}

/// A failed call: the server's `{"error": …}` with its status.
struct APIError: Error, CustomStringConvertible {
    var status: Int
    var message: String
    var description: String { "error (\(status)): \(message)" }
}

/// The management API over HTTP (`/api/v1`), for the `keel models|keys|audit` commands.
struct APIClient {
    let base: String
    let key: String?

    func call(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json") async throws -> [UInt8] {
        var request = HTTPClientRequest(url: base + "/api/v1" + path)
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(600))
        var buffer = try await response.body.collect(upTo: 256 << 20)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        guard (200..<300).contains(Int(response.status.code)) else {
            let message = (try? JSONParser.parse(bytes, errorCode: .invalidInput))?["error"]?.stringValue ?? String(decoding: bytes, as: UTF8.self)
            throw APIError(status: Int(response.status.code), message: message)
        }
        return bytes
    }

    func json(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws -> (JSONValue, [UInt8]) {
        var bytes: [UInt8]? = nil
        if let body {
            var w = JSONWriter()
            w.value(body)
            bytes = w.bytes
        }
        let out = try await call(method, path, body: bytes)
        return (try JSONParser.parse(out, errorCode: .invalidInput), out)
    }
}

/// Plain-text tables for people.
enum Table {
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    static func text(_ v: JSONValue?) -> String {
        switch v {
        case .string(let s)?: return s
        case .number(let d)?: return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(format: "%.4f", d)
        case .bool(let b)?: return b ? "yes" : "no"
        case .null?, nil: return "—"
        case .object(let o)?: return o.sorted { $0.key < $1.key }.map { "\($0.key)=\(text($0.value))" }.joined(separator: ",")
        case .array(let a)?: return a.map { text($0) }.joined(separator: ",")
        default: return "…"
        }
    }
}

/// Runs a client call, printing the server's error and exiting non-zero on failure.
func runClient(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as APIError {
        FileHandle.standardError.write(Data((error.description + "\n").utf8))
        throw ExitCode(error.status == 401 || error.status == 403 ? 3 : 1)
    }
}

func printJSON(_ bytes: [UInt8]) {
    print(String(decoding: bytes, as: UTF8.self))
}

func urlPath(_ s: String) -> String {
    s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? s
}
